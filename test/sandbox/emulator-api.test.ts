/** The Bot API emulator answers like Telegram where timbre relies on it: errors, message ids, getMe, chats and topics, keyboards, faults; exercised over real HTTP. */
import { expect, test } from "bun:test";
import { BotApiEmulator } from "../../src/sandbox/emulator.ts";
import { ana, ben, cleanups, startEmulator, stopAfterEachTest } from "./emulator-support.ts";

stopAfterEachTest();

test("errors have Telegram's shape: ok false, error_code, description (and parameters for 429)", async () => {
  const { emulator, call } = startEmulator();
  const cases: [Promise<{ status: number; body: unknown }>, number, string][] = [
    [call("getMe", {}, "0:wrong"), 401, "Unauthorized"],
    [call("noSuchMethod"), 404, "Not Found: method not found"],
    [call("sendMessage", { text: "hi" }), 400, "Bad Request: chat_id is empty"],
    [call("sendMessage", { chat_id: 1, text: "  " }), 400, "Bad Request: message text is empty"],
    [call("sendMessage", { chat_id: 1, text: "x".repeat(4097) }), 400, "Bad Request: message is too long"],
    [call("editMessageText", { chat_id: 1, message_id: 99, text: "x" }), 400, "Bad Request: message to edit not found"],
    [call("setWebhook", { url: "ftp://example.org" }), 400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"],
    [call("setWebhook", { url: "https://example.org/hook", secret_token: "no spaces" }), 400, "Bad Request: secret token contains unallowed characters"],
  ];
  for (const [pending, status, description] of cases) {
    const answer = await pending;
    expect(answer.status).toBe(status);
    expect(answer.body).toEqual({ ok: false, error_code: status, description });
  }

  emulator.faults.blockedChats.add(5);
  expect((await call("sendMessage", { chat_id: 5, text: "hi" })).body).toEqual({ ok: false, error_code: 403, description: "Forbidden: bot was blocked by the user" });

  emulator.faults = { ...emulator.faults, blockedChats: new Set(), rate429: 1, retryAfter: 3 };
  const limited = await call("sendMessage", { chat_id: 5, text: "hi" });
  expect(limited.status).toBe(429);
  expect(limited.body).toEqual({ ok: false, error_code: 429, description: "Too Many Requests: retry after 3", parameters: { retry_after: 3 } });

  const limitedGetMe = await call("getMe");
  expect(limitedGetMe.status).toBe(429); // faults apply to every method unless `methods` narrows them
  emulator.faults = { ...emulator.faults, rate429: 0 };
  expect((await call("getMe")).body).toMatchObject({ ok: true, result: { is_bot: true } });
});

test("message_ids increase per chat, shared by the user's and the bot's messages", async () => {
  const { emulator, call } = startEmulator();
  const send = async (chatId: number) => ((await call("sendMessage", { chat_id: chatId, text: "hi" })).body.result as { message_id: number }).message_id;

  expect(await send(ana.id)).toBe(1);
  expect(await send(ana.id)).toBe(2);
  expect(await send(ben.id)).toBe(1); // another chat has its own sequence
  const written = emulator.sendText(ana, "from Ana").message as { message_id: number };
  expect(written.message_id).toBe(3);
  expect(await send(ana.id)).toBe(4);
  expect(await send(ben.id)).toBe(2);

  expect(emulator.sentTo(ana.id).map((m) => m.message_id)).toEqual([1, 2, 4]);
  expect(emulator.userMessages).toEqual([{ chat_id: ana.id, message_id: 3, text: "from Ana", date: expect.any(Number), from: ana }]);
  const edited = await call("editMessageText", { chat_id: ana.id, message_id: 2, text: "edited" });
  expect(edited.body).toMatchObject({ ok: true, result: { message_id: 2, text: "edited" } });
});

test("getMe answers the bot's username; chat_id 0 is 'chat not found', as Telegram answers", async () => {
  const emulator = new BotApiEmulator({ token: "42:TEST-token", username: "Some_Test_Bot" });
  const root = emulator.listen();
  cleanups.push(() => emulator.stop());
  const me = await fetch(`${root}/bot42:TEST-token/getMe`).then((r) => r.json());
  expect(me).toMatchObject({ ok: true, result: { is_bot: true, username: "Some_Test_Bot" } });
  const zero = await fetch(`${root}/bot42:TEST-token/sendMessage`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ chat_id: 0, text: "hi" }) });
  expect(await zero.json()).toEqual({ ok: false, error_code: 400, description: "Bad Request: chat not found" });
});

test("users write in topics, on behalf of chats, in direct-messages chats and business chats, with Telegram's shapes", () => {
  const { emulator } = startEmulator();
  const group = { id: -100_1, type: "supergroup", title: "G", is_forum: true };
  const channel = { id: -100_2, type: "channel", title: "C" };
  const dm = { id: -100_3, type: "supergroup", title: "C (messages)", is_direct_messages: true };
  const messageOf = (update: Record<string, unknown>, type = "message") => update[type] as Record<string, unknown>;

  expect(messageOf(emulator.sendText(ana, "in 40", group, { topicId: 40 }))).toMatchObject({ message_thread_id: 40, is_topic_message: true, from: { id: ana.id }, chat: group });
  expect(messageOf(emulator.sendText(ana, "as channel", group, { senderChat: channel }))).toMatchObject({ from: { id: 136_817_688, username: "Channel_Bot" }, sender_chat: channel });
  expect(messageOf(emulator.sendText(ana, "as admin", group, { senderChat: group }))).toMatchObject({ from: { id: 1_087_968_824, username: "GroupAnonymousBot" }, sender_chat: group });
  expect(messageOf(emulator.sendText(ana, "forwarded", group, { senderChat: channel, automaticForward: true }))).toMatchObject({
    from: { id: 777_000 },
    sender_chat: channel,
    is_automatic_forward: true,
    forward_origin: { type: "channel", chat: channel },
  });
  expect(messageOf(emulator.sendText(ana, "dm", dm, { directMessagesTopicId: 12 }))).toMatchObject({ direct_messages_topic: { topic_id: 12, user: { id: ana.id } }, chat: dm });
  const business = emulator.sendText(ana, "shop?", undefined, { businessConnectionId: "bc-9" });
  expect(business.message).toBeUndefined();
  expect(messageOf(business, "business_message")).toMatchObject({ business_connection_id: "bc-9", chat: { id: ana.id, type: "private" } });
});

test("a direct-messages chat needs direct_messages_topic_id; inline keyboards are kept, tapped, answered once and edited", async () => {
  const { emulator, call } = startEmulator();
  const dm = { id: -100_4, type: "supergroup", title: "C (messages)", is_direct_messages: true };
  emulator.sendText(ana, "hello", dm, { directMessagesTopicId: 7 });
  expect((await call("sendMessage", { chat_id: dm.id, text: "hi" })).body).toMatchObject({ ok: false, error_code: 400 });
  expect((await call("sendMessage", { chat_id: dm.id, text: "hi", direct_messages_topic_id: 7 })).body).toMatchObject({ ok: true, result: { direct_messages_topic: { topic_id: 7 } } });
  // sendChatAction does not work there (nor in channels).
  expect((await call("sendChatAction", { chat_id: dm.id, action: "typing" })).body).toMatchObject({ ok: false, error_code: 400 });
  expect((await call("sendChatAction", { chat_id: ana.id, action: "typing" })).body).toEqual({ ok: true, result: true });

  const keyboard = { inline_keyboard: [[{ text: "Yes", callback_data: "y" }, { text: "No", callback_data: "n" }]] };
  const sent = await call("sendMessage", { chat_id: ana.id, text: "sure?", reply_markup: keyboard, message_thread_id: 3 });
  expect(sent.body.result).toMatchObject({ reply_markup: keyboard, message_thread_id: 3, is_topic_message: true });
  const message = emulator.sentTo(ana.id).at(-1)!;
  expect(message.reply_markup).toEqual(keyboard);

  const tap = emulator.tapButton(ben, message, "No");
  const query = tap.callback_query as Record<string, unknown>;
  expect(query).toMatchObject({ from: { id: ben.id }, data: "n", message: { message_id: message.message_id, chat: { id: ana.id }, message_thread_id: 3, text: "sure?", reply_markup: keyboard } });
  expect(typeof query.id).toBe("string");
  expect(typeof query.chat_instance).toBe("string");
  expect(() => emulator.tapButton(ben, message, "Maybe")).toThrow('no callback button "Maybe"');

  expect((await call("answerCallbackQuery", { callback_query_id: query.id, text: "Got it" })).body).toEqual({ ok: true, result: true });
  expect(emulator.callbackQueries.get(query.id as string)).toEqual({ answered: true, text: "Got it" });
  const again = await call("answerCallbackQuery", { callback_query_id: query.id });
  expect(again.body).toMatchObject({ ok: false, error_code: 400, description: expect.stringContaining("query ID is invalid") });

  const replaced = { inline_keyboard: [[{ text: "✓ No", callback_data: "n" }]] };
  expect((await call("editMessageReplyMarkup", { chat_id: ana.id, message_id: message.message_id, reply_markup: replaced })).body).toMatchObject({ ok: true, result: { reply_markup: replaced } });
  expect(message.reply_markup).toEqual(replaced);
  expect((await call("editMessageReplyMarkup", { chat_id: ana.id, message_id: message.message_id, reply_markup: replaced })).body.description).toStartWith("Bad Request: message is not modified");
  expect((await call("editMessageReplyMarkup", { chat_id: ana.id, message_id: message.message_id })).body).toMatchObject({ ok: true });
  expect(message.reply_markup).toBeUndefined();
  expect((await call("editMessageReplyMarkup", { chat_id: ana.id, message_id: message.message_id })).body.description).toStartWith("Bad Request: message is not modified");
});

test("faults: a migrated group answers 400 with migrate_to_chat_id; raw answers are a proxy's, once each; getUpdates can ignore timeout", async () => {
  const { emulator, call, root } = startEmulator();
  emulator.faults.migratedChats.set(-5, -1_005);
  const migrated = await call("sendMessage", { chat_id: -5, text: "hi" });
  expect(migrated.status).toBe(400);
  expect(migrated.body).toEqual({ ok: false, error_code: 400, description: "Bad Request: group chat was upgraded to a supergroup chat", parameters: { migrate_to_chat_id: -1_005 } });

  emulator.faults.methods = ["getMe"];
  emulator.faults.rawAnswers.push({ status: 502, body: "<html>Bad Gateway</html>" }, { status: 500, body: '{"ok":false}', contentType: "application/json" });
  const first = await fetch(`${root}/bot${emulator.token}/getMe`);
  expect([first.status, await first.text()]).toEqual([502, "<html>Bad Gateway</html>"]);
  const second = await fetch(`${root}/bot${emulator.token}/getMe`);
  expect([second.status, await second.text()]).toEqual([500, '{"ok":false}']);
  expect((await call("sendMessage", { chat_id: 1, text: "not a getMe" })).status).toBe(200);
  expect((await call("getMe")).status).toBe(200);
  expect(emulator.callsOf("getMe").map((c) => c.status)).toEqual([502, 500, 200]);

  // Held for its timeout, this poll would outlast the test's own 5 s limit.
  emulator.ignoreLongPollTimeout = true;
  expect((await call("getUpdates", { timeout: 50 })).body).toEqual({ ok: true, result: [] });
});

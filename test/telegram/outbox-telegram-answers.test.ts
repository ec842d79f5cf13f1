/**
 * The outbox against answers Telegram (or what stands in front of it) really gives: a group that
 * became a supergroup, 5xx without a Bot API body, group rate limits, keyboard edits and
 * callback query answers. The emulator answers as described; the test reads what it recorded.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import type { BotApiEmulator, EmulatedChat, RecordedCall } from "../../src/sandbox/emulator.ts";
import { connectWebhook, serviceEnv, startEmulator, startInProcess, tempDir, waitFor, type Service } from "../helpers.ts";
import { botMessage, capturingLogger, newUser } from "../runtime/support.ts";

const LIFTED = { SEND_RATE_PER_CHAT: "1000", SEND_RATE_PER_GROUP: "1000", SEND_RATE_GLOBAL: "10000" };
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(env: Record<string, string>, agent: "echo" | Agent = "echo") {
  const { emulator, apiUrl } = startEmulator();
  const dir = tempDir();
  const log = capturingLogger();
  cleanups.push(() => dir.cleanup(), () => emulator.stop());
  const service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { ...LIFTED, ...(agent === "echo" ? { AGENT: "echo" } : {}), ...env }), {
    logger: log,
    ...(agent !== "echo" ? { agent } : {}),
  });
  cleanups.push(() => service.stop());
  await connectWebhook(emulator, service.url);
  return { emulator, service, log };
}

function sendsTo(emulator: BotApiEmulator, chatId: number): RecordedCall[] {
  return emulator.callsOf("sendMessage").filter((call) => Number(call.params.chat_id) === chatId);
}

function rowsOf(service: Service, chatId: number) {
  return service.outbox.list({ limit: 1000 }).filter((row) => row.chatId === chatId).reverse();
}

describe("a group that became a supergroup", () => {
  test("a 400 with migrate_to_chat_id sends the message, and those queued behind it, again to the new chat, in order", async () => {
    const { emulator, service } = await setup({});
    const oldGroup: EmulatedChat = { id: -4_555_001, type: "group", title: "Old group" };
    const supergroup = -1_004_555_001;
    emulator.faults.migratedChats.set(oldGroup.id, supergroup);
    // Slow answers keep the first row in flight long enough to read it while it is resent.
    emulator.faults.delayMs = 400;
    const ann = newUser("Ann");
    emulator.sendText(ann, "first", oldGroup);
    emulator.sendText(ann, "second", oldGroup);

    const moved = await waitFor(() => rowsOf(service, supergroup).find((row) => row.text === "first" && row.lastError !== null), "the first reply moved to the supergroup");
    expect(moved.lastError).toContain(`migrate_to_chat_id ${supergroup}`);
    await waitFor(() => emulator.sentTo(supergroup).length === 2, "both replies in the supergroup", 15_000);
    expect(emulator.sentTo(supergroup).map((m) => m.text)).toEqual(["first", "second"]);
    expect(emulator.sentTo(oldGroup.id)).toEqual([]);
    expect(sendsTo(emulator, oldGroup.id).every((call) => call.status === 400)).toBe(true);
    // The emulator records a message before timbre records its answer.
    await service.outbox.whenIdle();
    expect(rowsOf(service, oldGroup.id)).toEqual([]);
    expect(rowsOf(service, supergroup).map((row) => [row.text, row.status])).toEqual([
      ["first", "sent"],
      ["second", "sent"],
    ]);
  });
});

describe("HTTP 5xx whatever its body", () => {
  test("a 502 with JSON but no error_code, and an HTML 503, are retried; when attempts run out the error names the HTTP status", async () => {
    const { emulator, service } = await setup({ SEND_MAX_ATTEMPTS: "3" });
    emulator.faults.methods = ["sendMessage"];
    emulator.faults.rawAnswers.push(
      { status: 502, body: '{"ok":false,"description":"upstream connect error"}', contentType: "application/json" },
      { status: 503, body: "<html><body><h1>503 Service Unavailable</h1></body></html>" },
    );
    const bea = newUser("Bea");
    emulator.sendText(bea, "through the proxy");
    await waitFor(() => emulator.sentTo(bea.id).length === 1, "the reply after two proxy errors");
    expect(sendsTo(emulator, bea.id).map((call) => call.status)).toEqual([502, 503, 200]);
    await service.outbox.whenIdle();
    expect(rowsOf(service, bea.id).map((row) => [row.status, row.attempts])).toEqual([["sent", 3]]);

    const proxyDown = { status: 502, body: "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>" };
    emulator.faults.rawAnswers.push(proxyDown, proxyDown, proxyDown);
    const cal = newUser("Cal");
    emulator.sendText(cal, "still behind the proxy");
    const failed = await waitFor(() => rowsOf(service, cal.id).find((row) => row.status === "failed"), "the reply to fail after 3 attempts");
    expect(failed.attempts).toBe(3);
    expect(failed.lastError).toStartWith("HTTP 502");
    expect(failed.lastError).toContain("502 Bad Gateway");
    expect(failed.lastError).not.toContain("undefined");
    expect(sendsTo(emulator, cal.id).map((call) => call.status)).toEqual([502, 502, 502]);
  });
});

describe("an ok answer without a Message", () => {
  test("sendMessage answered {ok:true, result:true} is retried like an unreadable answer, then recorded with the Message's id", async () => {
    const { emulator, service } = await setup({ SEND_MAX_ATTEMPTS: "3" });
    emulator.faults.methods = ["sendMessage"];
    emulator.faults.rawAnswers.push({ status: 200, body: '{"ok":true,"result":true}', contentType: "application/json" });
    const dee = newUser("Dee");
    emulator.sendText(dee, "through an odd proxy");
    await waitFor(() => emulator.sentTo(dee.id).length === 1, "the reply after the odd answer");
    await service.outbox.whenIdle();
    const [row] = rowsOf(service, dee.id);
    expect([row!.status, row!.attempts, row!.messageId]).toEqual(["sent", 2, emulator.sentTo(dee.id)[0]!.message_id]);
  });
});

describe("SEND_RATE_PER_GROUP", () => {
  test("a group's messages are spaced by the group rate while a private chat goes on at its own", async () => {
    const threeReplies: Agent = async (ctx) => {
      for (const n of [1, 2, 3]) await ctx.reply(`${ctx.text} ${n}`);
    };
    const { emulator } = await setup({ SEND_RATE_PER_CHAT: "1000", SEND_RATE_PER_GROUP: "2" }, threeReplies);
    const group: EmulatedChat = { id: -1_007_770_001, type: "supergroup", title: "Busy group" };
    const dan = newUser("Dan");
    emulator.sendText(dan, "group", group);
    emulator.sendText(dan, "private");
    await waitFor(() => emulator.sentTo(group.id).length === 3 && emulator.sentTo(dan.id).length === 3, "three replies in each chat", 15_000);
    const groupCalls = sendsTo(emulator, group.id);
    const gaps = groupCalls.slice(1).map((call, i) => call.at - groupCalls[i]!.at);
    // 2 a second: at least 500 ms apart (a millisecond of slack for the clocks' rounding).
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(499);
    // The private chat's three replies, at its own rate, did not wait for the group's.
    const lastPrivate = sendsTo(emulator, dan.id).at(-1)!;
    expect(lastPrivate.at).toBeLessThan(groupCalls[2]!.at);
  });
});

describe("keyboards and taps", () => {
  const menuAgent: Agent = async (ctx) => {
    if (ctx.text === "menu") await ctx.reply("pick", { reply_markup: { inline_keyboard: [[{ text: "A", callback_data: "a" }, { text: "B", callback_data: "b" }]] } });
  };

  test("editMessageReplyMarkup rows replace and remove a sent message's keyboard in the chat's order; 'not modified' counts as done", async () => {
    const { emulator, service } = await setup({}, menuAgent);
    const eva = newUser("Eva");
    emulator.sendText(eva, "menu");
    const menu = await botMessage(emulator, eva.id, 1);
    expect(menu.reply_markup?.inline_keyboard.flat().map((b) => b.text)).toEqual(["A", "B"]);

    const chosen = { inline_keyboard: [[{ text: "✓ A", callback_data: "a" }]] };
    service.outbox.enqueue({ chatId: eva.id, text: "before" });
    service.outbox.enqueue({ method: "editMessageReplyMarkup", chatId: eva.id, messageId: menu.message_id, replyMarkup: chosen });
    service.outbox.enqueue({ chatId: eva.id, text: "after" });
    await service.outbox.whenIdle();
    expect(menu.reply_markup).toEqual(chosen);
    expect(emulator.calls.filter((c) => Number(c.params.chat_id) === eva.id).map((c) => [c.method, c.params.text ?? c.params.message_id])).toEqual([
      ["sendMessage", "pick"],
      ["sendMessage", "before"],
      ["editMessageReplyMarkup", menu.message_id],
      ["sendMessage", "after"],
    ]);

    // Removed, then removed again: Telegram says "message is not modified", which is done too.
    service.outbox.enqueue({ method: "editMessageReplyMarkup", chatId: eva.id, messageId: menu.message_id });
    service.outbox.enqueue({ method: "editMessageReplyMarkup", chatId: eva.id, messageId: menu.message_id });
    await service.outbox.whenIdle();
    expect(menu.reply_markup).toBeUndefined();
    expect(emulator.callsOf("editMessageReplyMarkup").map((c) => c.status)).toEqual([200, 200, 400]);
    const edits = rowsOf(service, eva.id).filter((row) => row.method === "editMessageReplyMarkup");
    expect(edits.map((row) => [row.status, row.messageId])).toEqual([
      ["sent", menu.message_id],
      ["sent", menu.message_id],
      ["sent", menu.message_id],
    ]);
  });

  test("a tap is answered even when the first answerCallbackQuery meets a proxy's 502; answers can carry a notice", async () => {
    const { emulator, service, log } = await setup({}, menuAgent);
    emulator.faults.methods = ["answerCallbackQuery"];
    emulator.faults.rawAnswers.push({ status: 502, body: "<html>Bad Gateway</html>" });
    const fay = newUser("Fay");
    emulator.sendText(fay, "menu");
    const menu = await botMessage(emulator, fay.id, 1);
    const tap = emulator.tapButton(fay, menu, "B");
    const id = (tap.callback_query as { id: string }).id;
    await waitFor(() => emulator.callbackQueries.get(id)?.answered, "the tap to be answered after a retry");
    expect(emulator.callsOf("answerCallbackQuery").map((c) => [c.params.callback_query_id, c.status])).toEqual([
      [id, 502],
      [id, 200],
    ]);

    // An answer Telegram refuses for good is logged with the tap's update and chat, to find it.
    emulator.faults.rawAnswers.push({ status: 400, body: JSON.stringify({ ok: false, error_code: 400, description: "Bad Request: query is too old" }) });
    const late = emulator.tapButton(fay, menu, "A");
    await waitFor(() => log.lines.find((line) => line.msg.startsWith("telegram: could not answer a callback query")), "the refused answer to be logged");
    expect(log.lines.find((line) => line.msg.startsWith("telegram: could not answer a callback query"))).toMatchObject({
      level: "warn",
      callback_query_id: (late.callback_query as { id: string }).id,
      update_id: late.update_id,
      chat_id: fay.id,
      code: 400,
    });

    emulator.callbackQueries.set("direct-1", { answered: false });
    expect(await service.outbox.answerCallbackQuery("direct-1", "Noted")).toEqual({ ok: true, result: true });
    expect(emulator.callbackQueries.get("direct-1")).toEqual({ answered: true, text: "Noted" });
  });
});

/**
 * The emulator's messages as the Bot API shapes and checks them: a bot message's `from` (no getMe-only
 * fields), chat_id as @username, editMessageText's checks, parse_mode HTML (text without tags,
 * entities, 4096 characters after parsing), method names in any case.
 */
import { expect, test } from "bun:test";
import { parseHtml } from "../../src/sandbox/html-entities.ts";
import { ana, startEmulator, stopAfterEachTest } from "./emulator-support.ts";

stopAfterEachTest();

const GET_ME_ONLY = ["can_join_groups", "can_read_all_group_messages", "supports_inline_queries", "can_connect_to_business", "has_main_web_app"];

type Sent = { message_id: number; text: string; entities?: unknown[]; from: Record<string, unknown>; chat: { id: number } };
const resultOf = (answer: { body: { result?: unknown } }) => answer.body.result as Sent;

test("a bot message's `from` (sendMessage's answer, a callback query's message) has none of getMe's own fields", async () => {
  const { emulator, call } = startEmulator();
  const keyboard = { inline_keyboard: [[{ text: "Yes", callback_data: "y" }]] };
  const answer = resultOf(await call("sendMessage", { chat_id: ana.id, text: "sure?", reply_markup: keyboard }));
  const me = (await call("getMe")).body.result as Record<string, unknown>;
  expect(answer.from).toMatchObject({ id: me.id, is_bot: true, username: me.username });

  const tap = emulator.tapButton(ana, emulator.sentTo(ana.id)[0]!, "Yes");
  const tapped = (tap.callback_query as { message: { from: Record<string, unknown> } }).message.from;
  for (const from of [answer.from, tapped]) {
    expect(Object.keys(from).filter((key) => GET_ME_ONLY.includes(key))).toEqual([]);
  }
});

test("sendMessage to an @username is not answered 'chat_id is empty'", async () => {
  const { emulator, call } = startEmulator();
  const unknown = await call("sendMessage", { chat_id: "@no_such_channel_here", text: "hi" });
  expect(unknown.body).toEqual({ ok: false, error_code: 400, description: "Bad Request: chat not found" });

  // A public channel the emulator knows (it posted there): its username reaches it.
  const channel = { id: -100_77, type: "channel", title: "Runners", username: "runners_news" };
  emulator.pushUpdate({ channel_post: { message_id: 1, sender_chat: channel, chat: channel, date: 1, text: "news" } });
  const known = await call("sendMessage", { chat_id: "@runners_news", text: "hi" });
  expect(known.body.ok).toBe(true);
  expect(resultOf(known).chat.id).toBe(channel.id);
});

test("editMessageText refuses a text over 4096 characters, as sendMessage does", async () => {
  const { emulator, call } = startEmulator();
  const sent = resultOf(await call("sendMessage", { chat_id: ana.id, text: "short" }));
  const edit = await call("editMessageText", { chat_id: ana.id, message_id: sent.message_id, text: "x".repeat(4097) });
  expect(edit.status).toBe(400);
  expect(emulator.sentTo(ana.id)[0]!.text).toBe("short");
});

test("editMessageText refuses a text of only spaces, as sendMessage does", async () => {
  const { call } = startEmulator();
  const sent = resultOf(await call("sendMessage", { chat_id: ana.id, text: "short" }));
  const edit = await call("editMessageText", { chat_id: ana.id, message_id: sent.message_id, text: "   " });
  expect(edit.status).toBe(400);
  expect(edit.body.description).toBe("Bad Request: message text is empty");
});

test("editMessageText with the same text (and no keyboard) is 'message is not modified'", async () => {
  const { call } = startEmulator();
  const sent = resultOf(await call("sendMessage", { chat_id: ana.id, text: "same" }));
  const edit = await call("editMessageText", { chat_id: ana.id, message_id: sent.message_id, text: "same" });
  expect(edit.status).toBe(400);
  expect(edit.body.description).toStartWith("Bad Request: message is not modified");
});

test("a parse_mode HTML text of 4096 characters after parsing is sent, and its text comes back without the tags", async () => {
  const { call } = startEmulator();
  const send = (text: string) => call("sendMessage", { chat_id: ana.id, text, parse_mode: "HTML" });

  const full = await send(`<b>${"x".repeat(4096)}</b>`);
  expect(full.body.description).toBeUndefined();
  expect(full.body.ok).toBe(true);

  const short = await send("<b>bold</b> plain");
  expect(short.body.ok).toBe(true);
  expect(resultOf(short).text).toBe("bold plain");
  expect(resultOf(short).entities).toEqual([{ type: "bold", offset: 0, length: 4 }]);
});

test("getme and SENDMESSAGE work as getMe and sendMessage", async () => {
  const { emulator, call } = startEmulator();
  const me = await call("getme");
  expect(me.status).toBe(200);
  expect(me.body.result).toMatchObject({ is_bot: true, username: "timbre_sandbox_bot" });
  const sent = await call("SENDMESSAGE", { chat_id: ana.id, text: "hi" });
  expect(sent.status).toBe(200);
  expect(emulator.sentTo(ana.id).map((m) => m.text)).toEqual(["hi"]);
});

test("sendMessage with parse_mode HTML and a numeric reference past U+10FFFF gets no 5xx", async () => {
  const { call } = startEmulator();
  const answer = await call("sendMessage", { chat_id: ana.id, text: "code &#99999999; here", parse_mode: "HTML" });
  expect({ serverError: answer.status >= 500, status: answer.status, description: answer.body.description }).toMatchObject({ serverError: false });
});

test("parse_mode HTML: links, nesting and character references become entities and text; an unsupported tag is Telegram's 400", () => {
  expect(parseHtml('<b>bold <i>both</i></b> &lt;3 <a href="https://t.me/x">link</a> &#128512;')).toEqual({
    text: "bold both <3 link 😀",
    entities: [
      { type: "bold", offset: 0, length: 9 },
      { type: "italic", offset: 5, length: 4 },
      { type: "text_link", offset: 13, length: 4, url: "https://t.me/x" },
    ],
  });
  expect(parseHtml('<pre><code class="language-ts">let x</code></pre>')).toEqual({ text: "let x", entities: [{ type: "pre", offset: 0, length: 5, language: "ts" }] });
  expect(() => parseHtml("<blink>no</blink>")).toThrow('Unsupported start tag "blink"');
  expect(() => parseHtml("<b>open")).toThrow("Can't find end tag");
});

test("an href with &amp; in its query gives the link's url with a plain &", () => {
  const { text, entities } = parseHtml('<a href="https://example.com/search?q=tea&amp;page=2">results</a>');
  expect(text).toBe("results");
  expect(entities).toEqual([{ type: "text_link", offset: 0, length: 7, url: "https://example.com/search?q=tea&page=2" }]);
});

test("an href in single quotes is the link's url", () => {
  expect(parseHtml("<a href='https://t.me/timbre'>docs</a>")).toEqual({ text: "docs", entities: [{ type: "text_link", offset: 0, length: 4, url: "https://t.me/timbre" }] });
});

test("a lone < in an HTML text is Telegram's can't-parse-entities 400", () => {
  expect(() => parseHtml("1 < 2, <b>true</b>")).toThrow("can't parse entities");
});

test("a span without class tg-spoiler is Telegram's can't-parse-entities 400, not a spoiler", () => {
  expect(parseHtml('<span class="tg-spoiler">secret</span>').entities).toEqual([{ type: "spoiler", offset: 0, length: 6 }]);
  expect(() => parseHtml('<span class="highlight">plain</span>')).toThrow("can't parse entities");
});

test("a custom emoji tag is a supported tag: its text is the fallback emoji", () => {
  expect(parseHtml('Well done <tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>').text).toBe("Well done 👍");
});

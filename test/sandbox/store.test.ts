/**
 * The sandbox emulator on its store (timbre's database, a real SQLite file): what it gave out
 * and what it was told comes back when it is built again on the same file, as after a restart.
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { systemClock } from "../../src/clock.ts";
import { openDatabase, type OpenDatabase } from "../../src/db/index.ts";
import { Inbox } from "../../src/ingest/inbox.ts";
import { BotApiEmulator } from "../../src/sandbox/emulator.ts";
import { SandboxStore } from "../../src/sandbox/store.ts";
import { tempDir, textUpdate } from "../helpers.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

const open: { database: OpenDatabase; emulator: BotApiEmulator }[] = [];
afterEach(() => {
  for (const { database, emulator } of open.splice(0)) {
    emulator.stop();
    database.close();
  }
});

let files = 0;
const newPath = () => `${dir.path}/sandbox-${++files}.db`;

/** The sandbox's emulator on the database at `path`; a second call on the same path is a restart (the first is closed). */
function start(path: string): BotApiEmulator {
  for (const { database, emulator } of open.splice(0)) {
    emulator.stop();
    database.close();
  }
  const database = openDatabase(path);
  const emulator = new BotApiEmulator({ token: "1:sandbox-test", store: new SandboxStore(database.db, systemClock) });
  open.push({ database, emulator });
  return emulator;
}

/** A Bot API call as the bot makes it (over the emulator's HTTP handler). */
async function call(emulator: BotApiEmulator, method: string, params: Record<string, unknown> = {}) {
  const response = await emulator.fetch(new Request(`http://emulator/bot${emulator.token}/${method}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(params) }));
  return (await response.json()) as { ok: boolean; result?: unknown; error_code?: number; description?: string };
}

const ana = { id: 1001, first_name: "Ana", language_code: "en" };
const keyboard = { inline_keyboard: [[{ text: "Beginner", callback_data: "timbre:1:2:0" }, { text: "Advanced", callback_data: "timbre:1:2:1" }]] };

test("update ids continue above every id the database has seen: the inbox's (an older sandbox's) and the emulator's own", async () => {
  const path = newPath();
  // What a sandbox before the store left behind: the bot stored 100000..100002 and nothing else.
  const before = openDatabase(path);
  const inbox = new Inbox(before.db, systemClock);
  inbox.storeMany([100_000, 100_001, 100_002].map((id) => ({ update: textUpdate(ana, "old", id) as never, raw: JSON.stringify(textUpdate(ana, "old", id)) })));
  before.close();

  const first = start(path);
  expect(first.sendText(ana, "hi").update_id).toBe(100_003);
  expect(first.tapButton(ana, (await sendWithKeyboard(first)).message, "Beginner").update_id).toBe(100_004);

  // The emulator's own ids count even when the bot never stored them (and after the inbox pruned its rows).
  const second = start(path);
  expect(second.sendText(ana, "again").update_id).toBe(100_005);
  const third = start(path);
  expect(third.upcomingUpdateId).toBe(100_006);

  // Without a store (tests' emulators) nothing changes: ids start at 100000, or where asked.
  expect(new BotApiEmulator().upcomingUpdateId).toBe(100_000);
  expect(new BotApiEmulator({ firstUpdateId: 7 }).sendText(ana, "x").update_id).toBe(7);
});

async function sendWithKeyboard(emulator: BotApiEmulator, text = "What is your level?") {
  const sent = await call(emulator, "sendMessage", { chat_id: ana.id, text, reply_markup: keyboard });
  expect(sent.ok).toBe(true);
  return { message: emulator.sentTo(ana.id).at(-1)!, result: sent.result as { message_id: number } };
}

test("users, messages both ways and keyboards (as edited) come back after a restart, and each chat's message ids go on", async () => {
  const path = newPath();
  const first = start(path);
  first.addUser({ id: 2002, first_name: "Ben", language_code: "es" });
  first.sendText(ana, "hi");
  await call(first, "sendMessage", { chat_id: ana.id, text: "What is your goal?" });
  first.sendText(ana, "run a 10k");
  const { result } = await sendWithKeyboard(first);
  const marked = { inline_keyboard: [[{ text: "✓ Beginner", callback_data: "timbre:1:2:0" }]] };
  expect((await call(first, "editMessageReplyMarkup", { chat_id: ana.id, message_id: result.message_id, reply_markup: marked })).ok).toBe(true);
  expect((await call(first, "editMessageText", { chat_id: ana.id, message_id: 2, text: "What is your training goal?" })).ok).toBe(true);

  const second = start(path);
  expect([...second.users.values()].sort((a, b) => a.id - b.id)).toEqual([ana, { id: 2002, first_name: "Ben", language_code: "es" }]);
  expect(second.userMessages.map((m) => [m.message_id, m.text, m.from])).toEqual([
    [1, "hi", ana],
    [3, "run a 10k", ana],
  ]);
  expect(second.sentTo(ana.id).map((m) => [m.message_id, m.text, m.reply_markup ?? null])).toEqual([
    [2, "What is your training goal?", null],
    [4, "What is your level?", marked],
  ]);
  expect(second.sentTo(ana.id)[1]!.params).toMatchObject({ chat_id: ana.id, reply_markup: keyboard });

  // The next message in the chat is number 5, both ways; a button sent before the restart can be tapped.
  expect((second.sendText(ana, "3").message as { message_id: number }).message_id).toBe(5);
  expect(((await call(second, "sendMessage", { chat_id: ana.id, text: "ok" })).result as { message_id: number }).message_id).toBe(6);
  const tap = second.tapButton(ana, second.sentTo(ana.id)[1]!, "✓ Beginner");
  expect(tap.callback_query).toMatchObject({ data: "timbre:1:2:0", message: { message_id: 4, reply_markup: marked, chat: { id: ana.id, type: "private", first_name: "Ana" } } });
  // A keyboard edited after the restart is kept too.
  expect((await call(second, "editMessageReplyMarkup", { chat_id: ana.id, message_id: 4 })).ok).toBe(true);
  expect(start(path).sentTo(ana.id)[1]!.reply_markup).toBeUndefined();
});

test("updates the bot had not taken before a restart are handed out after it, once, with their ids", async () => {
  const path = newPath();
  const first = start(path);
  const taken = first.sendText(ana, "one");
  const left = first.sendText(ana, "two");
  // getUpdates with an offset confirms what is below it, as Telegram counts it.
  expect(((await call(first, "getUpdates", { timeout: 0 })).result as unknown[]).length).toBe(2);
  expect(((await call(first, "getUpdates", { offset: taken.update_id + 1, timeout: 0 })).result as { update_id: number }[]).map((u) => u.update_id)).toEqual([left.update_id]);

  const second = start(path);
  expect(second.pendingUpdates()).toBe(1);
  const after = (await call(second, "getUpdates", { timeout: 0 })).result as { update_id: number; message: { text: string } }[];
  expect(after.map((u) => [u.update_id, u.message.text])).toEqual([[left.update_id, "two"]]);
  await call(second, "getUpdates", { offset: left.update_id + 1, timeout: 0 });

  const third = start(path);
  expect(third.pendingUpdates()).toBe(0);
  expect(third.upcomingUpdateId).toBe(left.update_id + 1);
});

test("a removed user's chat is gone and stays gone after a restart; the bot's messages to them answer 403; writing again brings them back", async () => {
  const path = newPath();
  const first = start(path);
  const ben = { id: 2002, first_name: "Ben" };
  first.sendText(ana, "hi");
  first.sendText(ben, "hola");
  await call(first, "sendMessage", { chat_id: ben.id, text: "¿Tu objetivo?" });
  expect(first.removeUser(ben.id)).toBe(true);
  expect(first.removeUser(3003)).toBe(false);
  expect(first.userMessages.map((m) => m.text)).toEqual(["hi"]);
  expect(first.sentTo(ben.id)).toEqual([]);

  const second = start(path);
  expect([...second.users.keys()]).toEqual([ana.id]);
  expect(second.userMessages.map((m) => m.text)).toEqual(["hi"]);
  const refused = await call(second, "sendMessage", { chat_id: ben.id, text: "still there?" });
  expect(refused).toEqual({ ok: false, error_code: 403, description: "Forbidden: user is deactivated" });
  expect((await call(second, "sendMessage", { chat_id: ana.id, text: "hello Ana" })).ok).toBe(true);

  second.sendText(ben, "I'm back");
  expect((await call(second, "sendMessage", { chat_id: ben.id, text: "welcome back" })).ok).toBe(true);
  expect(start(path).sentTo(ben.id).map((m) => m.text)).toEqual(["welcome back"]);
});

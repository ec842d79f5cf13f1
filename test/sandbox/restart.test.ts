/**
 * The sandbox survives restarts like production, through its HTTP routes: real `bun src/main.ts`
 * processes without a token on one database, `kill -9` between them.
 */
import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { coachText } from "../../src/agents/coach.ts";
import { spawnService, tempDir, waitFor, type SpawnedService } from "../helpers.ts";

const dir = tempDir();
const children: SpawnedService[] = [];
afterAll(async () => {
  for (const child of children) if (child.proc.exitCode === null) await child.kill9();
  dir.cleanup();
});

interface Line {
  message_id: number;
  side: "user" | "bot";
  text: string;
  buttons?: { text: string; callback_data?: string }[][];
}
interface History {
  agent: string;
  chats: { chat_id: number; user: { id: number; first_name: string; language_code?: string } | null; messages: Line[]; waiting: string | null }[];
}

async function sandbox(databasePath: string, extra: Record<string, string> = {}): Promise<SpawnedService> {
  const child = await spawnService({ DATABASE_PATH: databasePath, PORT: "0", HOST: "127.0.0.1", SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000", ...extra });
  children.push(child);
  return child;
}

async function post(child: SpawnedService, path: string, body: unknown, method = "POST") {
  const response = await fetch(`${child.url}${path}`, { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as { ok: boolean; update_id?: number; error?: string } };
}

async function history(child: SpawnedService): Promise<History> {
  return (await (await fetch(`${child.url}/sandbox/history`)).json()) as History;
}

async function linesOf(child: SpawnedService, chatId: number): Promise<Line[]> {
  return (await history(child)).chats.find((c) => c.chat_id === chatId)?.messages ?? [];
}

/** Sends `text` as `user` and waits for the bot's message number `botCount` in their chat. */
async function say(child: SpawnedService, user: { id: number; first_name: string }, text: string, botCount: number): Promise<{ updateId: number; reply: Line }> {
  const sent = await post(child, "/sandbox/send", { user, text });
  expect(sent.status).toBe(200);
  const reply = await waitFor(async () => (await linesOf(child, user.id)).filter((l) => l.side === "bot")[botCount - 1], `the bot's message ${botCount} after "${text}"`);
  return { updateId: sent.body.update_id!, reply };
}

/**
 * Waits until every message is recorded `sent` before a kill -9: one still `sending` is sent again
 * after the restart (at-least-once, as SPEC allows), which would add a line to the history.
 */
async function allRecordedSent(databasePath: string): Promise<void> {
  const db = new Database(databasePath, { readonly: true });
  try {
    await waitFor(() => db.query<{ n: number }, []>("SELECT count(*) AS n FROM outbox WHERE status <> 'sent'").get()!.n === 0, "every message recorded sent");
  } finally {
    db.close();
  }
}

const en = coachText.en;
const sideAndText = (lines: Line[]) => lines.map((l) => `${l.side}: ${l.text}`);

test("after kill -9 and a restart the chat's history is there, update ids go on, and the waiting run takes the very next answer", async () => {
  const db = `${dir.path}/answers.db`;
  const ana = { id: 313_131, first_name: "Ana", language_code: "en" };
  const first = await sandbox(db);
  const hi = await say(first, ana, "hi", 1);
  expect(hi.reply.text).toBe(en.goal);
  const goal = await say(first, ana, "run a 10k", 2);
  expect(goal.reply.text).toBe(en.days);
  expect(goal.updateId).toBe(hi.updateId + 1);
  await allRecordedSent(db);
  await first.kill9();

  const second = await sandbox(db);
  const before = await history(second);
  expect(before.agent).toBe("coach");
  const chat = before.chats.find((c) => c.chat_id === ana.id)!;
  expect(chat.user).toEqual(ana);
  expect(sideAndText(chat.messages)).toEqual(["user: hi", `bot: ${en.goal}`, "user: run a 10k", `bot: ${en.days}`]);
  expect(chat.messages.map((m) => m.message_id)).toEqual([1, 2, 3, 4]);
  expect(chat.waiting).toBe(en.days);

  // The first answer after the restart is a new update (not a duplicate) and answers the waiting question.
  const days = await say(second, ana, "3", 3);
  expect(days.updateId).toBe(goal.updateId + 1);
  expect(days.reply.text).toBe(en.level);
  expect(days.reply.message_id).toBe(6);
  const plan = await say(second, ana, "beginner", 4);
  expect(plan.reply.text).toContain("run a 10k");
  expect(plan.reply.text.split("\n").filter((line) => line.startsWith("Day "))).toHaveLength(3);
  await waitFor(async () => (await history(second)).chats.find((c) => c.chat_id === ana.id)?.waiting === null, "the run to end");
  expect(await second.terminate()).toBe(0);
}, 60_000);

test("a level button sent before kill -9 is tapped after the restart: the choice is marked and the plan arrives", async () => {
  const db = `${dir.path}/buttons.db`;
  const ben = { id: 424_242, first_name: "Ben", language_code: "en" };
  const first = await sandbox(db);
  await say(first, ben, "hi", 1);
  await say(first, ben, "get stronger", 2);
  const level = (await say(first, ben, "2", 3)).reply;
  expect(level.buttons).toEqual([
    [
      { text: "Beginner", callback_data: expect.stringMatching(/^timbre:\d+:\d+:0$/) },
      { text: "Intermediate", callback_data: expect.stringMatching(/^timbre:\d+:\d+:1$/) },
      { text: "Advanced", callback_data: expect.stringMatching(/^timbre:\d+:\d+:2$/) },
    ],
  ]);
  await allRecordedSent(db);
  await first.kill9();

  const second = await sandbox(db);
  const tap = await post(second, "/sandbox/tap", { user: ben, message_id: level.message_id, button: "Intermediate" });
  expect(tap.status).toBe(200);
  const lines = await waitFor(async () => {
    const now = await linesOf(second, ben.id);
    return now.length === 7 && now[5]!.buttons?.[0]?.[0]?.text === "✓ Intermediate" ? now : undefined;
  }, "the choice marked and the plan");
  expect(lines[5]!.buttons).toEqual([[{ text: "✓ Intermediate", callback_data: level.buttons![0]![1]!.callback_data! }]]);
  expect(lines[6]!.text).toStartWith("Your 2-day-a-week plan (intermediate) for: get stronger");

  // Taps that cannot reach the bot say why.
  expect(await post(second, "/sandbox/tap", { user: ben, message_id: 99, button: "Beginner" })).toEqual({ status: 404, body: { ok: false, error: `the bot sent no message 99 to user ${ben.id}` } });
  const noButton = await post(second, "/sandbox/tap", { user: ben, message_id: level.message_id, button: "Expert" });
  expect(noButton.status).toBe(400);
  expect(noButton.body.error).toContain('has no callback button "Expert"');
}, 60_000);

test("users created on the page and removals survive a restart; a removed user's chat is gone from the history", async () => {
  const db = `${dir.path}/users.db`;
  const first = await sandbox(db, { AGENT: "echo" });
  const cara = { id: 515_151, first_name: "Cara", language_code: "es" };
  const dan = { id: 616_161, first_name: "Dan" };
  expect(await post(first, "/sandbox/users", cara)).toEqual({ status: 200, body: { ok: true, user: cara } as never });
  await say(first, dan, "echo me", 1);
  expect((await post(first, `/sandbox/users/${dan.id}`, {}, "DELETE")).body).toEqual({ ok: true });
  expect((await post(first, `/sandbox/users/${dan.id}`, {}, "DELETE")).status).toBe(404);
  await allRecordedSent(db);
  await first.kill9();

  const second = await sandbox(db, { AGENT: "echo" });
  const after = await history(second);
  expect(after.agent).toBe("echo");
  expect(after.chats).toEqual([{ chat_id: cara.id, user: cara, messages: [], waiting: null }]);
  const echoed = await say(second, cara, "hola", 1);
  expect(echoed.reply.text).toBe("hola");
  expect(await second.terminate()).toBe(0);
}, 60_000);

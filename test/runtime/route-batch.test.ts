import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { serviceEnv, startEmulator, startInProcess, tempDir, textUpdate, waitFor, type Service } from "../helpers.ts";
import { gate, newUser } from "./support.ts";

const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
let service: Service;

const hold = gate();
const finish = gate();

/** Replies "got <text>"; "hold" keeps its run busy until the test releases it; "finish" ends quietly when released. */
const agent: Agent = async (ctx) => {
  if (ctx.text === "finish") return void (await finish.opened);
  if (ctx.text === "hold") await hold.opened;
  await ctx.reply(`got ${ctx.text}`);
};

beforeAll(async () => {
  service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "10000" }), { agent });
});

afterAll(async () => {
  await service.stop();
  emulator.stop();
  dir.cleanup();
});

function store(updates: Record<string, unknown>[]) {
  return service.inbox.storeMany(updates.map((update) => ({ update: update as never, raw: JSON.stringify(update) })));
}

test("updates of many chats handed over in one turn are routed in one commit; one that throws is rolled back alone", async () => {
  const busy = newUser("Busy");
  store([textUpdate(busy, "hold")]);
  await waitFor(() => service.runtime.list({ limit: 100 }).some((run) => run.chatId === busy.id && run.status === "running"), "Busy's run running");

  // Busy's next update is parked, then refused by the database (a trigger): its park must be undone.
  const refused = textUpdate(busy, "next");
  const refusedId = refused.update_id as number;
  service.database.sqlite.exec(
    `CREATE TEMP TRIGGER refuse_processing BEFORE UPDATE OF status ON updates WHEN NEW.update_id = ${refusedId} AND NEW.status = 'processing'
     BEGIN SELECT RAISE(ABORT, 'status change refused'); END`,
  );
  const users = Array.from({ length: 20 }, (_, i) => newUser(`Batch${i}`));
  const others = users.map((user, i) => textUpdate(user, `hello ${i}`));
  const before = service.runtime.batched.commits;
  store([...others.slice(0, 10), refused, ...others.slice(10)]);
  await service.dispatcher.whenIdle();
  service.database.sqlite.exec("DROP TRIGGER refuse_processing");

  // Twenty-one routes; one commit for them, and a few for the replies that follow (21 each without batching).
  expect(service.runtime.batched.commits - before).toBeLessThan(5);
  for (const [i, user] of users.entries()) await waitFor(() => emulator.sentTo(user.id).at(0)?.text === `got hello ${i}`, `the reply to chat ${i}`);
  expect(service.inbox.row(refusedId)).toMatchObject({ status: "failed", error: expect.stringContaining("status change refused") });
  expect(service.database.sqlite.query("SELECT count(*) AS n FROM parked_updates WHERE update_id = ?").get(refusedId)).toEqual({ n: 0 });

  hold.open();
  await waitFor(() => emulator.sentTo(busy.id).length === 1, "Busy's run finished");
  expect(emulator.sentTo(busy.id).map((m) => m.text)).toEqual(["got hold"]);
});

test("a chat's next update, handed over while its run is busy, is queued and runs after it in order", async () => {
  const user = newUser("Lane");
  const first = textUpdate(user, "one");
  const second = textUpdate(user, "two");
  const third = textUpdate(user, "three");
  store([first, second, third]);
  await waitFor(() => emulator.sentTo(user.id).length === 3, "three replies");
  expect(emulator.sentTo(user.id).map((m) => m.text)).toEqual(["got one", "got two", "got three"]);
});

test("/cancel racing the end of its run: the run is either done (nothing to cancel) or cancelled, never both", async () => {
  const users = Array.from({ length: 40 }, (_, i) => newUser(`Race${i}`));
  store(users.map((user) => textUpdate(user, "finish")));
  const running = () => service.runtime.list({ limit: 200 }).filter((run) => users.some((u) => u.id === run.chatId) && run.status === "running");
  await waitFor(() => running().length === users.length, "every run running");

  // The runs end a few microtasks after the release. The cancels are handed over one per
  // microtask from then on, so some are routed before their run's end, some in the same batch
  // as it, and some after it.
  finish.open();
  for (const user of users) {
    store([textUpdate(user, "/cancel")]);
    await Promise.resolve();
  }
  for (const user of users) await waitFor(() => emulator.sentTo(user.id).length === 1, `the answer to ${user.first_name}'s /cancel`);
  await service.dispatcher.whenIdle();

  const outcomes = new Set<string>();
  for (const user of users) {
    const [run, ...others] = service.runtime.list({ limit: 200 }).filter((r) => r.chatId === user.id);
    expect(others).toEqual([]);
    const answer = emulator.sentTo(user.id)[0]!.text;
    expect([run!.status, answer]).toEqual(run!.status === "done" ? ["done", "There is nothing to cancel."] : ["cancelled", "Cancelled."]);
    outcomes.add(run!.status);
  }
  // Both sides of the race happened, so the interleavings between them were exercised too.
  expect([...outcomes].sort()).toEqual(["cancelled", "done"]);
});

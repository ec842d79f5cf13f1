import { expect, test } from "bun:test";
import { coachText } from "../../src/agents/coach.ts";
import { systemClock } from "../../src/clock.ts";
import { openDatabase } from "../../src/db/index.ts";
import { Inbox } from "../../src/ingest/inbox.ts";
import { crashRig, postUpdate, serviceEnv, textUpdate, waitFor, type SpawnedService } from "../helpers.ts";
import { newUser, Person, readDb } from "./support.ts";

const { emulator, apiUrl, dbPath, spawn: spawnChild } = crashRig();

const env = serviceEnv(emulator, apiUrl, dbPath, { AGENT: "coach", SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });

const spawn = (): Promise<SpawnedService> => spawnChild(env);

test("an answer arriving at the same moment as a restart is never lost and never starts a new run", async () => {
  const t = coachText.en;
  const acked = new Person(emulator, newUser("Acked"));
  const stored = new Person(emulator, newUser("Stored"));
  const retried = new Person(emulator, newUser("Retried"));
  const people = [acked, stored, retried];
  const first = await spawn();
  for (const person of people) expect(await person.say("hi")).toBe(t.goal);
  await waitFor(() => readDb<{ n: number }>(dbPath, "SELECT count(*) AS n FROM outbox WHERE status != 'sent'")[0]!.n === 0, "the questions to be recorded as sent");
  // From here Telegram refuses sends (429), so nothing can reach a user while the process dies.
  emulator.faults = { ...emulator.faults, rate429: 1, retryAfter: 1, methods: ["sendMessage"] };

  // 1. Telegram delivers the answer, gets its 200, and the process is killed at once.
  const answer = textUpdate(acked.user, "acked goal", 900_001);
  expect((await postUpdate(first.url, answer)).status).toBe(200);
  await first.kill9();

  // 2. The answer was committed but the process died before routing it: it sits in the inbox as received.
  const database = openDatabase(dbPath);
  const unrouted = textUpdate(stored.user, "stored goal", 900_002);
  new Inbox(database.db, systemClock).storeMany([{ update: unrouted as never, raw: JSON.stringify(unrouted) }]);
  database.close();

  // 3. The user answers while the service is down: Telegram keeps retrying the delivery.
  emulator.sendText(retried.user, "retried goal");

  emulator.faults = { ...emulator.faults, rate429: 0 };
  const second = await spawn();
  // Each conversation carries on with its answer: the next message is the next question.
  for (const person of people) expect(await person.hear()).toBe(t.days);
  await waitFor(() => readDb<{ n: number }>(dbPath, "SELECT count(*) AS n FROM runs WHERE status = 'waiting'")[0]!.n === 3, "three runs waiting");

  const runs = readDb<{ id: number; chat_id: number; trigger_update_id: number }>(dbPath, "SELECT id, chat_id, trigger_update_id FROM runs ORDER BY id");
  expect(runs.map((r) => r.chat_id)).toEqual(people.map((p) => p.chatId));
  const steps = readDb<{ run_id: number; seq: number; state: string; answer: string | null }>(dbPath, "SELECT run_id, seq, state, answer FROM run_steps ORDER BY run_id, seq");
  expect(steps.map(({ seq, state, answer }) => [seq, state, answer])).toEqual([
    [0, "answered", "acked goal"],
    [1, "waiting", null],
    [0, "answered", "stored goal"],
    [1, "waiting", null],
    [0, "answered", "retried goal"],
    [1, "waiting", null],
  ]);
  for (const id of [900_001, 900_002]) expect(readDb(dbPath, "SELECT status FROM updates WHERE update_id = ?", id)).toEqual([{ status: "done" }]);

  // And they finish normally, with no message repeated.
  for (const [i, person] of people.entries()) {
    expect(await person.say(`${i + 2}`)).toBe(t.level);
    const plan = await person.say("intermediate");
    expect(plan).toContain(`${["acked", "stored", "retried"][i]} goal`);
  }
  expect(await second.terminate()).toBe(0);
  for (const person of people) expect(emulator.sentTo(person.chatId).map((m) => m.text).slice(0, 3)).toEqual([t.goal, t.days, t.level]);
  for (const person of people) expect(emulator.sentTo(person.chatId)).toHaveLength(4);
  expect(readDb(dbPath, "SELECT count(*) AS n FROM runs")).toEqual([{ n: 3 }]);
}, 60_000);

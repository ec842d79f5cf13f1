import { expect, test } from "bun:test";
import { join } from "node:path";
import { crashRig, serviceEnv, waitFor, type SpawnedService } from "../helpers.ts";
import { newUser, Person, readDb } from "./support.ts";

const { emulator, apiUrl, dbPath, spawn: spawnChild } = crashRig();

const env = serviceEnv(emulator, apiUrl, dbPath, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });
const fixture = join(import.meta.dir, "fixtures/journal-agent-service.ts");

const spawn = (thinkMs: number): Promise<SpawnedService> => spawnChild(env, [process.execPath, fixture, `--think-ms=${thinkMs}`]);

const unsent = () => readDb<{ n: number }>(dbPath, "SELECT count(*) AS n FROM outbox WHERE status != 'sent'")[0]!.n;

test("kill -9 while a run is busy with a text queued behind it, then while it waits after replies: replayed, nothing sent twice, the queued text runs next", async () => {
  const person = new Person(emulator, newUser("Journal"));
  // 1. The run is busy (thinking for a minute) and a second text queues behind it.
  const first = await spawn(60_000);
  expect(await person.say("a")).toBe("start a");
  const queued = emulator.sendText(person.user, "b");
  await waitFor(() => readDb(dbPath, "SELECT update_id FROM parked_updates").length === 1, "b to be queued behind run a");
  expect(readDb(dbPath, "SELECT status FROM updates WHERE update_id = ?", queued.update_id)).toEqual([{ status: "processing" }]);
  await waitFor(() => unsent() === 0, "start a to be recorded as sent");
  await first.kill9();

  // 2. Replayed from the start: "start a" is in the journal and not sent again.
  const second = await spawn(50);
  expect(await person.hear()).toBe("question of a");
  expect(await person.say("x")).toBe("got x");
  expect(await person.hear()).toBe("and one more?");
  await waitFor(() => unsent() === 0, "the replies to be recorded as sent");
  expect(readDb(dbPath, "SELECT status FROM runs")).toEqual([{ status: "waiting" }]);
  await second.kill9();

  // 3. Replayed again up to the second question, which gets its answer; then b's run starts.
  const third = await spawn(50);
  expect(await person.say("y")).toBe("end a: x, y");
  expect(await person.hear()).toBe("start b");
  expect(await person.hear()).toBe("question of b");
  expect(await person.say("z")).toBe("got z");
  expect(await person.hear()).toBe("and one more?");
  expect(await person.say("w")).toBe("end b: z, w");
  await waitFor(() => unsent() === 0, "the last reply to be recorded as sent");
  expect(await third.terminate()).toBe(0);

  expect(emulator.sentTo(person.chatId).map((m) => m.text)).toEqual([
    "start a",
    "question of a",
    "got x",
    "and one more?",
    "end a: x, y",
    "start b",
    "question of b",
    "got z",
    "and one more?",
    "end b: z, w",
  ]);
  expect(readDb(dbPath, "SELECT status FROM runs ORDER BY id")).toEqual([{ status: "done" }, { status: "done" }]);
  expect(readDb(dbPath, "SELECT kind, state FROM run_steps WHERE run_id = 1 ORDER BY seq")).toEqual([
    { kind: "reply", state: "done" },
    { kind: "ask", state: "answered" },
    { kind: "reply", state: "done" },
    { kind: "ask", state: "answered" },
    { kind: "reply", state: "done" },
  ]);
  expect(readDb(dbPath, "SELECT count(*) AS n FROM parked_updates")).toEqual([{ n: 0 }]);
  expect(readDb(dbPath, "SELECT status, count(*) AS n FROM updates GROUP BY status")).toEqual([{ status: "done", n: 6 }]);
}, 60_000);

import { expect, test } from "bun:test";
import { coachText } from "../../src/agents/coach.ts";
import { crashRig, serviceEnv, waitFor, type SpawnedService } from "../helpers.ts";
import { botMessage, newUser, Person, readDb } from "./support.ts";

const { emulator, apiUrl, dbPath, spawn: spawnChild } = crashRig();

const env = serviceEnv(emulator, apiUrl, dbPath, { AGENT: "coach", ASK_TIMEOUT_SECONDS: "3", SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });
const TIMED_OUT = "I waited for your answer but it did not come in time, so I stopped. Send me a message to start again.";

const spawn = (): Promise<SpawnedService> => spawnChild(env);

const deadlineOf = (chatId: number) =>
  readDb<{ deadline_at: number }>(dbPath, "SELECT s.deadline_at FROM run_steps s JOIN runs r ON r.id = s.run_id WHERE r.chat_id = ? AND s.seq = 0", chatId)[0]!.deadline_at;

test("after a restart, ask timeouts count from the stored deadline: passed while down fires at once, pending fires on time", async () => {
  const early = new Person(emulator, newUser("Early"));
  const late = new Person(emulator, newUser("Late"));
  const first = await spawn();
  expect(await early.say("hi")).toBe(coachText.en.goal);
  const earlyDeadline = deadlineOf(early.chatId);
  // The second question is asked ~2 s later, so its deadline is still ahead after the restart.
  await waitFor(() => Date.now() >= earlyDeadline - 1000, "two seconds to pass");
  expect(await late.say("hi")).toBe(coachText.en.goal);
  const lateDeadline = deadlineOf(late.chatId);
  // Killed before the question is marked sent, the restart would send it again (SPEC's in-flight allowance).
  await waitFor(() => readDb<{ n: number }>(dbPath, "SELECT count(*) AS n FROM outbox WHERE status != 'sent'")[0]!.n === 0, "both questions to be recorded as sent");
  await first.kill9();

  // The service is down while the first deadline passes.
  await waitFor(() => Date.now() > earlyDeadline + 200, "the first deadline to pass");
  const received = new Map<number, number>();
  const unsubscribe = emulator.subscribe((event) => {
    if (event.type === "bot_message" && event.message.text === TIMED_OUT) received.set(event.chat_id, Date.now());
  });
  const restartedAt = Date.now();
  await spawn();
  expect((await botMessage(emulator, early.chatId, 2)).text).toBe(TIMED_OUT);
  expect((await botMessage(emulator, late.chatId, 2)).text).toBe(TIMED_OUT);
  unsubscribe();

  // Passed while down: told right after the start, not a fresh 3 s later.
  expect(received.get(early.chatId)! - restartedAt).toBeLessThan(2_000);
  // Still pending: fired at its stored deadline (a timer restarted from scratch would fire ~3 s after the restart).
  const lateAt = received.get(late.chatId)!;
  expect(lateAt).toBeGreaterThanOrEqual(lateDeadline - 50);
  expect(lateAt).toBeLessThan(lateDeadline + 1_000);
  expect(lateAt).toBeLessThan(restartedAt + 3_000);
  expect(readDb(dbPath, "SELECT status FROM runs ORDER BY id")).toEqual([{ status: "failed" }, { status: "failed" }]);
  expect(readDb(dbPath, "SELECT state FROM run_steps ORDER BY run_id")).toEqual([{ state: "timed_out" }, { state: "timed_out" }]);
  expect(emulator.sentTo(early.chatId)).toHaveLength(2);
  expect(emulator.sentTo(late.chatId)).toHaveLength(2);
}, 30_000);

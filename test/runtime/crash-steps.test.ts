import { expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { crashRig, serviceEnv, waitFor, type SpawnedService } from "../helpers.ts";
import { newUser, Person, readDb } from "./support.ts";

const { emulator, apiUrl, dbPath, dir, spawn: spawnChild } = crashRig();

const env = serviceEnv(emulator, apiUrl, dbPath, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });
const fixture = join(import.meta.dir, "fixtures/durable-agent-service.ts");
const effects = join(dir.path, "effects.log");

const spawn = (agent: string): Promise<SpawnedService> => spawnChild(env, [process.execPath, fixture, `--agent=${agent}`, `--effects=${effects}`]);
const unsent = () => readDb<{ n: number }>(dbPath, "SELECT count(*) AS n FROM outbox WHERE status != 'sent'")[0]!.n;
const draws = () => readFileSync(effects, "utf8").trim().split("\n");

test("kill -9 after a step: the run carries on with the number drawn before the crash, and the draw ran once", async () => {
  const person = new Person(emulator, newUser("Lucky"));
  const first = await spawn("lucky");
  const told = await person.say("draw");
  expect(await person.hear()).toBe("shall I keep it?");
  await waitFor(() => unsent() === 0, "the question to be recorded as sent");
  await first.kill9();

  const second = await spawn("lucky");
  const [drawn] = draws();
  expect(told).toBe(`your lucky number is ${drawn}`);
  expect(await person.say("yes")).toBe(`kept ${drawn}: yes`);
  expect(draws()).toEqual([drawn!]);
  expect(await second.terminate()).toBe(0);
  expect(emulator.sentTo(person.chatId)).toHaveLength(3);
}, 30_000);

test("kill -9 during a step's backoff: the retries go on from the attempts made, not from the first", async () => {
  const person = new Person(emulator, newUser("Flaky"));
  const attemptsLog = join(dir.path, "attempts.log");
  const spawnFlaky = () => spawnChild(env, [process.execPath, fixture, "--agent=flaky", `--effects=${attemptsLog}`]);
  const attempts = () => readFileSync(attemptsLog, "utf8").trim().split("\n");
  const first = await spawnFlaky();
  emulator.sendText(person.user, "pay");
  // The first attempt failed and is journaled; the crash comes during its 1 s backoff.
  await waitFor(() => readDb(dbPath, "SELECT seq FROM run_steps WHERE text = 'charge' AND state = 'retrying' AND attempts = 1").length === 1, "the failed attempt to be journaled");
  await first.kill9();
  expect(attempts()).toEqual(["attempt"]);

  const second = await spawnFlaky();
  // retries: 2 means three attempts in all, across both processes.
  expect(await person.hear()).toBe("gave up after 3 attempts: card declined");
  expect(attempts()).toEqual(["attempt", "attempt", "attempt"]);
  expect(readDb(dbPath, "SELECT state, attempts, error FROM run_steps WHERE kind = 'step' AND text = 'charge'")).toEqual([{ state: "failed", attempts: 3, error: "card declined" }]);
  expect(await second.terminate()).toBe(0);
}, 30_000);

test("kill -9 between two steps made at once: the one that had committed replays, the other runs again", async () => {
  const person = new Person(emulator, newUser("Pair"));
  const gateFile = join(dir.path, "pair.log");
  const spawnPair = () => spawnChild(env, [process.execPath, fixture, "--agent=pair", `--effects=${gateFile}`]);
  const first = await spawnPair();
  emulator.sendText(person.user, "both");
  // "fast" (position 1) is journaled while "slow" (position 0) still runs.
  await waitFor(() => readDb(dbPath, "SELECT seq FROM run_steps WHERE text = 'fast' AND state = 'done'").length === 1, "the second step to be journaled");
  await first.kill9();
  writeFileSync(`${gateFile}.go`, "");
  const second = await spawnPair();
  expect(await person.hear()).toBe("s+f");
  expect(readDb(dbPath, "SELECT status FROM runs WHERE chat_id = ?", person.chatId)).toEqual([{ status: "done" }]);
  expect(await second.terminate()).toBe(0);
}, 30_000);

test("kill -9, then a changed agent: the waiting run fails with ReplayMismatchError when answered, the user is told once, the next text starts afresh", async () => {
  const person = new Person(emulator, newUser("Changed"));
  const first = await spawn("lucky");
  await person.say("draw");
  expect(await person.hear()).toBe("shall I keep it?");
  await waitFor(() => unsent() === 0, "the question to be recorded as sent");
  await first.kill9();

  const second = await spawn("lucky-changed");
  expect(await person.say("yes")).toStartWith("I was updated while we were talking");
  const [run] = readDb<{ status: string; error: string }>(dbPath, "SELECT status, error FROM runs WHERE chat_id = ?", person.chatId);
  expect(run).toEqual({ status: "failed", error: 'ReplayMismatchError: step 2: the journal has ask "shall I keep it?" but the agent now makes ask "keep it, yes or no?"' });
  expect(second.output()).toContain('"msg":"run failed: the agent\'s code no longer matches the run\'s journal"');
  // A fresh run of the new code: it draws again and asks its own question.
  expect(await person.say("again")).toStartWith("your lucky number is ");
  expect(await person.hear()).toBe("keep it, yes or no?");
  expect(await second.terminate()).toBe(0);
  expect(emulator.sentTo(person.chatId).filter((m) => m.text.startsWith("I was updated"))).toHaveLength(1);
}, 30_000);

test("a sleep survives kill -9: after a restart past its end it wakes at once, and says awake once", async () => {
  const person = new Person(emulator, newUser("Sleepy"));
  const first = await spawn("sleeper");
  expect(await person.say("2")).toBe("sleeping");
  await waitFor(() => readDb(dbPath, "SELECT seq FROM run_steps WHERE kind = 'sleep' AND state = 'waiting'").length === 1, "the sleep to be journaled");
  // Killed before "sleeping" is marked sent, the restart would send it again (SPEC's in-flight allowance).
  await waitFor(() => readDb(dbPath, "SELECT id FROM outbox WHERE chat_id = ? AND status = 'sent'", person.chatId).length === 1, "'sleeping' to be marked sent");
  await first.kill9();
  const [sleep] = readDb<{ deadline_at: number }>(dbPath, "SELECT deadline_at FROM run_steps WHERE kind = 'sleep'");
  await waitFor(() => Date.now() > sleep!.deadline_at, "the sleep's end to pass while the service is down", 5_000);

  const second = await spawn("sleeper");
  expect(await person.hear()).toBe("awake");
  expect(await second.terminate()).toBe(0);
  expect(emulator.sentTo(person.chatId).map((m) => m.text)).toEqual(["sleeping", "awake"]);
  expect(readDb(dbPath, "SELECT status FROM runs WHERE chat_id = ?", person.chatId)).toEqual([{ status: "done" }]);
}, 30_000);

test("memory survives kill -9: a run keeps seeing the memory it started with, and the next run sees what it remembered", async () => {
  const person = new Person(emulator, newUser("Memo"));
  const first = await spawn("counter");
  expect(await person.say("one")).toBe("run 1: more?");
  await waitFor(() => unsent() === 0, "the question to be recorded as sent");
  await first.kill9();

  const second = await spawn("counter");
  expect(await person.say("yes")).toBe("run 1 started with null, answered yes");
  expect(await person.say("two")).toBe("run 2: more?");
  await waitFor(() => unsent() === 0, "the question to be recorded as sent");
  await second.kill9();

  const third = await spawn("counter");
  expect(await person.say("sure")).toBe('run 2 started with {"count":1}, answered sure');
  expect(readDb(dbPath, "SELECT value FROM memories")).toEqual([{ value: '{"count":2}' }]);
  expect(await third.terminate()).toBe(0);
}, 30_000);

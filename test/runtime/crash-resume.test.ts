import { expect, test } from "bun:test";
import { coachText } from "../../src/agents/coach.ts";
import { crashRig, serviceEnv, waitFor, type SpawnedService } from "../helpers.ts";
import { newUser, Person, readDb } from "./support.ts";

const { emulator, apiUrl, dbPath, spawn: spawnChild } = crashRig();

// The first process sends slowly (at most one message every 2 s per chat) and Telegram answers
// 429 for a while, so questions sit in the outbox when it dies; later processes send at once.
const slowEnv = serviceEnv(emulator, apiUrl, dbPath, { AGENT: "coach", SEND_RATE_PER_CHAT: "0.5", SEND_RATE_GLOBAL: "1000" });
const fastEnv = { ...slowEnv, SEND_RATE_PER_CHAT: "1000" };

const spawn = (env: Record<string, string>): Promise<SpawnedService> => spawnChild(env);

const outboxPending = () => readDb<{ n: number }>(dbPath, "SELECT count(*) AS n FROM outbox WHERE status IN ('queued', 'sending')")[0]!.n;
const queuedAfter429 = () => readDb<{ n: number }>(dbPath, "SELECT count(*) AS n FROM outbox WHERE status = 'queued' AND last_error LIKE 'Too Many Requests%'")[0]!.n;
const sendingNow = () => readDb<{ n: number }>(dbPath, "SELECT count(*) AS n FROM outbox WHERE status = 'sending'")[0]!.n;

test("kill -9 while replies are queued and while questions wait, twice: every flow completes, no question repeated, no reply doubled", async () => {
  const people = Array.from({ length: 6 }, (_, i) => {
    const spanish = i % 2 === 1;
    const person = new Person(emulator, newUser(spanish ? `Marta${i}` : `Joe${i}`, spanish ? "es" : "en"));
    const t = coachText[spanish ? "es" : "en"];
    const goal = spanish ? `objetivo número ${i}: correr` : `goal number ${i}: get stronger`;
    const reask = i === 1 || i === 4;
    const days = `${i + 1}`;
    const level = spanish ? "avanzado" : "beginner";
    const expected = [t.goal, t.days, ...(reask ? [t.daysAgain] : []), t.level];
    return { person, t, goal, reask, days, level, expected, label: spanish ? "Día " : "Day " };
  });

  // 1. Slow process: everyone gets the goal question; half answer it, and their next
  // question is still in the outbox (2 s spacing per chat) when the process is killed.
  const first = await spawn(slowEnv);
  expect(await Promise.all(people.map((p) => p.person.say("hi")))).toEqual(people.map((p) => p.t.goal));
  await waitFor(() => outboxPending() === 0, "the goal questions to be recorded as sent");
  // Telegram now answers every send with 429 retry_after 2: the next questions stay queued,
  // and no send can reach the user while the process dies.
  emulator.faults = { ...emulator.faults, rate429: 1, retryAfter: 2, methods: ["sendMessage"] };
  for (const p of people.slice(0, 3)) emulator.sendText(p.person.user, p.goal);
  await waitFor(() => queuedAfter429() === 3 && sendingNow() === 0, "three days questions queued in the outbox after a 429");
  await first.kill9();
  emulator.faults = { ...emulator.faults, rate429: 0 };
  for (const p of people) expect(emulator.sentTo(p.person.chatId)).toHaveLength(1);

  // 2. Restart: the queued questions go out once; conversations carry on to different steps,
  // then the process is killed again while every run waits on a question.
  const second = await spawn(fastEnv);
  for (const p of people.slice(0, 3)) expect(await p.person.hear()).toBe(p.t.days);
  for (const p of people.slice(3)) expect(await p.person.say(p.goal)).toBe(p.t.days);
  for (const p of people.slice(0, 3)) {
    if (p.reask) expect(await p.person.say("0")).toBe(p.t.daysAgain);
    expect(await p.person.say(p.days)).toBe(p.t.level);
  }
  for (const p of people.slice(3)) if (p.reask) expect(await p.person.say("8")).toBe(p.t.daysAgain);
  await waitFor(() => outboxPending() === 0, "every question to be recorded as sent");
  expect(readDb<{ status: string }>(dbPath, "SELECT status FROM runs").map((r) => r.status)).toEqual(Array(6).fill("waiting"));
  await second.kill9();

  // 3. Restart again: the rest of every conversation, then a clean stop.
  const third = await spawn(fastEnv);
  for (const p of people.slice(3)) expect(await p.person.say(p.days)).toBe(p.t.level);
  const plans = await Promise.all(people.map((p) => p.person.say(p.level)));
  await waitFor(() => outboxPending() === 0, "the plans to be recorded as sent");
  expect(await third.terminate()).toBe(0);

  for (const [i, p] of people.entries()) {
    const sent = emulator.sentTo(p.person.chatId).map((m) => m.text);
    expect(sent).toEqual([...p.expected, plans[i]!]);
    expect(plans[i]).toContain(p.goal);
    expect(plans[i]!.split("\n").filter((line) => line.startsWith(p.label))).toHaveLength(i + 1);
  }
  // One run per person, done; one outbox row per message the user saw.
  const runs = readDb<{ chat_id: number; status: string }>(dbPath, "SELECT chat_id, status FROM runs ORDER BY chat_id");
  expect(runs).toEqual(people.map((p) => ({ chat_id: p.person.chatId, status: "done" })));
  const rows = readDb<{ chat_id: number; n: number }>(dbPath, "SELECT chat_id, count(*) AS n FROM outbox WHERE status = 'sent' GROUP BY chat_id ORDER BY chat_id");
  expect(rows).toEqual(people.map((p) => ({ chat_id: p.person.chatId, n: p.expected.length + 1 })));
  expect(readDb(dbPath, "SELECT update_id, status FROM updates WHERE status != 'done'")).toEqual([]);
}, 60_000);

// Every callback_query is answered, also when a crash cuts its answer off: a tap routed just
// before a kill -9 (its answerCallbackQuery failing meanwhile) is answered on the next start.
import { expect, test } from "bun:test";
import { coachText } from "../../src/agents/coach.ts";
import { crashRig, serviceEnv, waitFor } from "../helpers.ts";
import { newUser, Person, readDb } from "./support.ts";

const { emulator, apiUrl, dbPath, spawn } = crashRig();
const env = serviceEnv(emulator, apiUrl, dbPath, { AGENT: "coach", SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });

test("kill -9 while a routed tap's answer is failing: after the restart the tap is answered", async () => {
  const t = coachText.en;
  const person = new Person(emulator, newUser("Tapper"));
  const first = await spawn(env);
  expect(await person.say("hi")).toBe(t.goal);
  expect(await person.say("run 5 km")).toBe(t.days);
  expect(await person.say("3")).toBe(t.level);
  // Telegram answers every answerCallbackQuery 502 while the tap is routed and then killed.
  emulator.faults = { ...emulator.faults, down: true, methods: ["answerCallbackQuery"] };
  const tap = emulator.tapButton(person.user, emulator.sentTo(person.chatId).at(-1)!, "Beginner");
  const id = (tap.callback_query as { id: string }).id;
  await waitFor(() => readDb<{ status: string }>(dbPath, "SELECT status FROM updates WHERE kind = 'callback_query'")[0]?.status === "done", "the tap routed");
  await waitFor(() => emulator.callsOf("answerCallbackQuery").length > 0, "a first answer attempt");
  await first.kill9();
  emulator.faults = { ...emulator.faults, down: false, methods: [] };
  expect(emulator.callbackQueries.get(id)?.answered).toBe(false);

  await spawn(env);
  await waitFor(() => emulator.callbackQueries.get(id)?.answered, "the tap answered after the restart");
  expect(await person.hear()).toContain("run 5 km");
}, 30_000);

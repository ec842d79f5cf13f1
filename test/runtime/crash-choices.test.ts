import { expect, test } from "bun:test";
import { coachText } from "../../src/agents/coach.ts";
import { crashRig, serviceEnv, waitFor } from "../helpers.ts";
import { newUser, Person, readDb } from "./support.ts";

const { emulator, apiUrl, dbPath, spawn } = crashRig();
const env = serviceEnv(emulator, apiUrl, dbPath, { AGENT: "coach", SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });

test("kill -9 between a question with buttons and the tap: after the restart the tap answers it, once", async () => {
  const t = coachText.es;
  const person = new Person(emulator, newUser("Lucía", "es"));
  const first = await spawn(env);
  expect(await person.say("hola")).toBe(t.goal);
  expect(await person.say("correr 10 km")).toBe(t.days);
  expect(await person.say("4 días")).toBe(t.level);
  await waitFor(() => readDb<{ n: number }>(dbPath, "SELECT count(*) AS n FROM outbox WHERE status != 'sent'")[0]!.n === 0, "the level question to be sent");
  await first.kill9();

  const second = await spawn(env);
  const question = emulator.sentTo(person.chatId).at(-1)!;
  emulator.tapButton(person.user, question, "Avanzado");
  const plan = await person.hear();
  expect(plan).toContain("correr 10 km");
  expect(plan.split("\n").filter((line) => line.startsWith("Día "))).toHaveLength(4);
  // The tap again, after the answer: acknowledged, nothing else happens.
  const again = emulator.tapButton(person.user, question, "✓ Avanzado");
  await waitFor(() => emulator.callbackQueries.get((again.callback_query as { id: string }).id)?.answered, "the second tap to be acknowledged");
  expect(emulator.callbackQueries.get((again.callback_query as { id: string }).id)?.text).toBe("Esta pregunta ya no está abierta.");
  expect(await second.terminate()).toBe(0);
  expect(emulator.sentTo(person.chatId)).toHaveLength(4);
  expect(readDb(dbPath, "SELECT status FROM runs")).toEqual([{ status: "done" }]);
}, 30_000);

/**
 * SPEC "Agent runtime": "A message that arrives while the run waits on `ask` is the answer."
 * SPEC "Steps, memory, sleep, choices": "the asking user's tap answers with that choice's text".
 *
 * A step and a question started together (`Promise.all`): the step's first attempt fails, the run
 * waits, the scheduler wakes it for the next attempt (run-store.ts wakeRun sets it `running`). The
 * attempt succeeds and the replay reaches the still-waiting question, which only suspends
 * (agent-context.ts ask: `return x.suspend()`) without putting the run back to `waiting`. The run
 * stays `running` with no execution, so routing (routing.ts: `active?.status === "waiting"`) takes
 * the answer for a busy run's text and parks it, and a tap is refused as "no longer open".
 */
import { expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { serviceRig, connectWebhook, serviceEnv, startInProcess, waitFor } from "../helpers.ts";
import { failsOnce, newUser, Person, readDb } from "./support.ts";

const { emulator, apiUrl, dir, services } = serviceRig();

function agentWith(choices?: string[]): Agent {
  const charge = failsOnce("receipt-1");
  return async (ctx) => {
    const [receipt, name] = await Promise.all([ctx.step("charge", charge.fn, { retries: 3, backoffSeconds: 1 }), ctx.ask("name?", choices ? { choices } : {})]);
    await ctx.reply(`${receipt} for ${name}`);
  };
}

/** A run that asked beside a step, once that step's second attempt succeeded and the question still waits. */
async function askedBesideRetriedStep(name: string, choices?: string[]) {
  const env = serviceEnv(emulator, apiUrl, `${dir.path}/${name}.db`, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });
  const service = await startInProcess(env, { agent: agentWith(choices) });
  services.push(service);
  await connectWebhook(emulator, service.url);
  const db = service.config.databasePath;
  const person = new Person(emulator, newUser("Ann"));
  expect(await person.say("go")).toBe("name?");
  // The backoff ends, the step's second attempt succeeds; the question still waits.
  await waitFor(() => readDb(db, "SELECT 1 FROM run_steps WHERE text = 'charge' AND state = 'done'").length === 1, "the step's second attempt", 10_000);
  await waitFor(() => service.runtime.executing === 0, "the execution to suspend on the question");
  return { db, person };
}

test("a typed answer to a question asked beside a step that was retried is the answer", async () => {
  const { db, person } = await askedBesideRetriedStep("ask-beside-step");
  const heard = await person.say("Ann", 5_000).catch((error: Error) => `${error.message}; run status ${JSON.stringify(readDb(db, "SELECT status FROM runs"))}, parked ${JSON.stringify(readDb(db, "SELECT update_id FROM parked_updates"))}`);
  expect(heard).toBe("receipt-1 for Ann");
}, 30_000);

test("a tap on a choice of a question asked beside a step that was retried is the answer", async () => {
  const { person } = await askedBesideRetriedStep("tap-beside-step", ["Ann", "Bob"]);
  const question = emulator.sentTo(person.chatId).find((message) => message.text === "name?")!;
  emulator.tapButton(person.user, question, "Bob");
  expect(await person.hear(5_000)).toBe("receipt-1 for Bob");
}, 30_000);

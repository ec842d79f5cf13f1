/**
 * SPEC "Steps, memory, sleep, choices": "when the retries are spent `step` throws
 * `StepFailedError` with the last error's message, and a replay throws the same."
 *
 * The last error's message may hold a lone UTF-16 surrogate (an API's error body cut with
 * .slice() in the middle of an emoji). The first execution's StepFailedError had that message and
 * every replay's U+FFFD in its place (the journal's `error` is UTF-8). Both now have the message
 * as the journal keeps it.
 */
import { expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { serviceRig, connectWebhook, serviceEnv, startInProcess } from "../helpers.ts";
import { newUser, Person } from "./support.ts";

const { emulator, apiUrl, dir, services } = serviceRig();

test("a StepFailedError's message is the same on replay as the first time, also when it was cut mid-emoji", async () => {
  // "card declined 🎉" cut one UTF-16 unit short: its last character is a lone high surrogate.
  const cut = "card declined 🎉".slice(0, -1);
  const messages: string[] = [];
  const agent: Agent = async (ctx) => {
    try {
      await ctx.step("charge", () => {
        throw new Error(cut);
      }, { retries: 0 });
    } catch (error) {
      messages.push((error as Error).message);
    }
    await ctx.reply(`then: ${await ctx.ask("try again?")}`);
  };
  const service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/failed.db`, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }), { agent });
  services.push(service);
  await connectWebhook(emulator, service.url);
  const person = new Person(emulator, newUser("Declined"));
  expect(await person.say("buy")).toBe("try again?");
  expect(await person.say("no")).toBe("then: no");
  // Once when the step failed, once when the answer replayed the run.
  expect(messages.map((m) => JSON.stringify(m))).toEqual([JSON.stringify(cut.toWellFormed()), JSON.stringify(cut.toWellFormed())]);
});

/**
 * SPEC "Replay is checked": "At each recorded position, replay compares the kind and the text
 * (reply, ask) or the name (step, sleep, remember) with the journal. A difference is a
 * ReplayMismatchError". README: "make the same ctx calls in the same order every time".
 *
 * An agent that makes exactly the same calls every time, but whose step name (or reply text) holds
 * a lone UTF-16 surrogate (a title cut with .slice() in the middle of an emoji), has its waiting
 * run failed with ReplayMismatchError when the answer came: SQLite stores the key as UTF-8, the
 * lone surrogate came back as U+FFFD, and the recorded key no longer equalled the agent's own
 * (the cursor now compares the key as it was stored).
 */
import { expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { serviceRig, connectWebhook, serviceEnv, startInProcess, type Service } from "../helpers.ts";
import { newUser, Person, readDb } from "./support.ts";

const { emulator, apiUrl, dir, services } = serviceRig();

async function start(name: string, agent: Agent): Promise<Service> {
  const service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/${name}.db`, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }), { agent });
  services.push(service);
  await connectWebhook(emulator, service.url);
  return service;
}

// A title cut to 8 UTF-16 units: the party emoji's second half is cut off.
const title = "Party 🎉🎉".slice(0, 7);

test("a step named after a title cut mid-emoji replays: the same agent, the same calls, no ReplayMismatchError", async () => {
  let calls = 0;
  const agent: Agent = async (ctx) => {
    const n = await ctx.step(`summarise ${title}`, () => ++calls);
    const answer = await ctx.ask("go on?");
    await ctx.reply(`step gave ${n}, you said ${answer}`);
  };
  const service = await start("step-name", agent);
  const person = new Person(emulator, newUser("Cutter"));
  expect(await person.say("go")).toBe("go on?");
  expect(await person.say("yes")).toBe("step gave 1, you said yes");
  expect(readDb(service.config.databasePath, "SELECT status, error FROM runs")).toEqual([{ status: "done", error: null }]);
  expect(calls).toBe(1);
});

test("a reply whose text was cut mid-emoji replays: the same agent, the same calls, no ReplayMismatchError", async () => {
  const agent: Agent = async (ctx) => {
    await ctx.reply(`about ${title}`);
    const answer = await ctx.ask("go on?");
    await ctx.reply(`you said ${answer}`);
  };
  const service = await start("reply-text", agent);
  const person = new Person(emulator, newUser("Cutter2"));
  await person.say("go");
  expect(await person.hear()).toBe("go on?");
  expect(await person.say("yes")).toBe("you said yes");
  expect(readDb(service.config.databasePath, "SELECT status, error FROM runs")).toEqual([{ status: "done", error: null }]);
});

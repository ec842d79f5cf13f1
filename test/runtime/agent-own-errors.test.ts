/**
 * Errors an agent raises itself are its failures, whatever their class: the run ends `failed`,
 * the user is told once, the conversation goes on. Before, an agent's own SQLite error (its own
 * database missing) was taken for timbre's storage failing and the run replayed every second
 * for good, and a RunCancelledError the agent made on a run nobody cancelled left it running.
 */
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { RunCancelledError, type Agent } from "../../src/runtime/context.ts";
import { serviceRig } from "../helpers.ts";
import { newUser, Person } from "./support.ts";

const rig = serviceRig();
const SORRY = "Sorry, something went wrong on my side. Please try again.";
const LIFTED = { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" };

test("an agent whose own SQLite file cannot be opened fails its run once, like any throwing agent", async () => {
  let executions = 0;
  const agent: Agent = async (ctx) => {
    executions++;
    if (ctx.text === "hi") new Database(`${rig.dir.path}/no-such-folder/bot.db`);
    await ctx.reply(`echo ${ctx.text}`);
  };
  const service = await rig.start(LIFTED, { agent });
  const person = new Person(rig.emulator, newUser("OwnDb"));
  expect(await person.say("hi", 5_000)).toBe(SORRY);
  const run = service.runtime.list({ limit: 5 }).find((r) => r.chatId === person.chatId)!;
  expect({ status: run.status, update: service.inbox.row(run.triggerUpdateId)?.status, executions }).toEqual({ status: "failed", update: "failed", executions: 1 });
  expect(await person.say("next", 5_000)).toBe("echo next");
});

test("an agent that throws a RunCancelledError of its own on a run nobody cancelled fails the run; the conversation goes on", async () => {
  const agent: Agent = async (ctx) => {
    if (ctx.text === "stop") throw new RunCancelledError();
    await ctx.reply(`echo ${ctx.text}`);
  };
  const service = await rig.start(LIFTED, { agent });
  const person = new Person(rig.emulator, newUser("SelfStop"));
  expect(await person.say("stop", 5_000)).toBe(SORRY);
  expect(service.runtime.list({ limit: 5 }).find((r) => r.chatId === person.chatId)!.status).toBe("failed");
  expect(await person.say("next", 5_000)).toBe("echo next");
});

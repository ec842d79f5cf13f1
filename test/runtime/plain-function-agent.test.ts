/**
 * An agent module's default export may be a plain (non-async) function: one that throws ends its
 * run `failed` and tells the user, as an async one does; one that returns no promise still ends.
 * Both used to leave the run `running` (and its conversation blocked) for good.
 */
import { expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { serviceRig, waitFor } from "../helpers.ts";
import { newUser, Person } from "../runtime/support.ts";

const rig = serviceRig();
const SORRY = "Sorry, something went wrong on my side. Please try again.";

test("an agent function that throws synchronously (not async) ends its run failed and tells the user", async () => {
  // What `export default function (ctx) { if (!ok) throw new Error(...); return ctx.reply(...) }` is.
  const syncThrower = ((ctx: { text?: string; reply(text: string): Promise<void> }) => {
    if (ctx.text === "boom") throw new Error("sync boom");
    return ctx.reply(`ok ${ctx.text}`);
  }) as unknown as Agent;
  const service = await rig.start({ SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }, { agent: syncThrower });
  const person = new Person(rig.emulator, newUser("Sync"));
  rig.emulator.sendText(person.user, "boom");
  expect(await person.hear(5_000)).toBe(SORRY);
  const run = service.runtime.list({ limit: 5 }).find((r) => r.chatId === person.chatId)!;
  expect({ run: run.status, update: service.inbox.row(run.triggerUpdateId)?.status }).toEqual({ run: "failed", update: "failed" });
  // The conversation is free again.
  expect(await person.say("again", 5_000)).toBe("ok again");
});

test("an agent function that returns nothing (forgot async) ends its run instead of leaving it running forever", async () => {
  // `export default function (ctx) { ctx.reply("hi") }`: returns undefined, not a promise.
  const noPromise = ((ctx: { text?: string; reply(text: string): Promise<void> }) => {
    void ctx.reply(`hi ${ctx.text}`);
  }) as unknown as Agent;
  const service = await rig.start({ SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }, { agent: noPromise });
  const person = new Person(rig.emulator, newUser("NoPromise"));
  rig.emulator.sendText(person.user, "one");
  // Whatever it ends as (done or failed), it must end: not stay `running` with its update `processing`.
  await waitFor(() => {
    const run = service.runtime.list({ limit: 5 }).find((r) => r.chatId === person.chatId);
    return run && run.status !== "running" && run.status !== "waiting" ? run : undefined;
  }, "the run to end", 5_000);
});

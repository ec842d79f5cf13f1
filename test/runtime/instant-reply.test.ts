/**
 * An agent's `instantReply`: answered at once, without a run, when the conversation is idle or
 * waiting on a question; a text that comes while a run works or sleeps waits its turn. One that
 * fails (throws, or returns anything but a text or undefined) is logged and the text is routed
 * as usual, so the user still gets the run's answer.
 */
import { expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { serviceRig, waitFor } from "../helpers.ts";
import { capturingLogger, newUser, Person, ShiftableClock } from "./support.ts";

const rig = serviceRig();

const withInstantReply = (agent: Agent, instantReply: (text: string) => unknown): Agent => Object.assign(agent, { instantReply }) as unknown as Agent;
/** A new agent each time: withInstantReply sets the property on the function itself. */
const runReply = (): Agent => async (ctx) => {
  await ctx.reply(`run: ${ctx.text}`);
};

for (const [what, instantReply, logged] of [
  ["throws", () => { throw new Error("no greeting today"); }, "no greeting today"],
  ["returns null", () => null, "instantReply returned null; expected a text or undefined"],
  ["is async", async () => "Hi!", "instantReply returned a promise (it must be synchronous); expected a text or undefined"],
  ["returns an empty text", () => "  ", "instantReply returned an empty text; expected a text or undefined"],
] as const) {
  test(`an instantReply that ${what}: logged, and the text starts a run as usual`, async () => {
    const log = capturingLogger();
    await rig.start({ SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }, { agent: withInstantReply(runReply(), instantReply), logger: log });
    const person = new Person(rig.emulator, newUser("Instant"));
    expect(await person.say("hello")).toBe("run: hello");
    const entry = log.lines.find((e) => e.msg === "runtime: the agent's instantReply failed; routing the text as usual");
    expect(entry).toMatchObject({ level: "error", error: logged });
  });
}

test("a text with an instant reply sent while the run sleeps waits for the run to end, as any text does then", async () => {
  const clock = new ShiftableClock();
  const sleeper: Agent = async (ctx) => {
    await ctx.reply("sleeping");
    await ctx.sleep(60);
    await ctx.reply("awake");
  };
  const service = await rig.start(
    { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" },
    { agent: withInstantReply(sleeper, (text) => (text === "/start" ? "Hi! I am the bot." : undefined)), clock },
  );
  const person = new Person(rig.emulator, newUser("Sleepy"));
  expect(await person.say("go")).toBe("sleeping");
  await waitFor(() => service.runtime.counts().waiting === 1 && service.runtime.executing === 0, "the run to sleep");
  const { update_id } = rig.emulator.sendText(person.user, "/start");
  await waitFor(() => service.inbox.row(update_id)?.status === "processing", "the /start to be queued behind the run");
  await service.outbox.whenIdle();
  clock.advance(60_000);
  await waitFor(() => rig.emulator.sentTo(person.chatId).length >= 3 || undefined, "three messages");
  expect(rig.emulator.sentTo(person.chatId).map((m) => m.text)).toEqual(["sleeping", "awake", "Hi! I am the bot."]);
});

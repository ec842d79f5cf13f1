import { expect, test } from "bun:test";
import { coach, coachText } from "../../src/agents/coach.ts";
import type { Agent } from "../../src/runtime/context.ts";
import type { BotMessage } from "../../src/sandbox/emulator.ts";
import { serviceRig, connectWebhook, serviceEnv, startInProcess, waitFor, type Service } from "../helpers.ts";
import { botMessage, newUser, Person } from "./support.ts";

const { emulator, apiUrl, dir, services } = serviceRig();

async function start(name: string, agent: Agent): Promise<Service> {
  const service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/${name}.db`, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000", SEND_RATE_PER_GROUP: "1000" }), { agent });
  services.push(service);
  await connectWebhook(emulator, service.url);
  return service;
}

const labels = (message: BotMessage) => message.reply_markup?.inline_keyboard.flat().map((button) => button.text);
const answered = (callbackId: string) => emulator.callbackQueries.get(callbackId);

test("the coach's level question shows the levels as buttons; a tap answers, is acknowledged, and marks the choice", async () => {
  await start("coach-tap", coach);
  const person = new Person(emulator, newUser("Tapper"));
  expect(await person.say("hi")).toBe(coachText.en.goal);
  expect(await person.say("run a 5k")).toBe(coachText.en.days);
  expect(await person.say("3")).toBe(coachText.en.level);
  const question = emulator.sentTo(person.chatId).at(-1)!;
  expect(labels(question)).toEqual(["Beginner", "Intermediate", "Advanced"]);

  const tap = emulator.tapButton(person.user, question, "Intermediate");
  const plan = await person.hear();
  expect(plan).toContain("run a 5k");
  expect(plan.split("\n").filter((line) => line.startsWith("Day "))).toHaveLength(3);
  const callbackId = (tap.callback_query as { id: string }).id;
  await waitFor(() => answered(callbackId)?.answered, "the tap to be acknowledged");
  expect(answered(callbackId)?.text).toBeUndefined();
  await waitFor(() => labels(emulator.sentTo(person.chatId).find((m) => m.message_id === question.message_id)!)?.[0] === "✓ Intermediate", "the choice to be marked");
  // Exactly the questions and the plan: the edit is no message.
  expect(emulator.sentTo(person.chatId)).toHaveLength(4);
});

test("a typed answer still counts; a tap on an answered question or by another user changes nothing and says why", async () => {
  const seen: string[] = [];
  const agent: Agent = async (ctx) => {
    seen.push(await ctx.ask("red or blue?", { choices: ["Red", "Blue"] }));
    seen.push(await ctx.ask("tea or coffee?", { choices: ["Tea", "Coffee"] }));
    await ctx.reply(`you chose ${seen.slice(-2).join(" and ")}`);
  };
  await start("taps", agent);
  const group = { id: -4_000_000 - Math.floor(Math.random() * 1000), type: "group", title: "Choosers" };
  const asker = new Person(emulator, newUser("Asker"), group);
  const other = newUser("Other");
  expect(await asker.say("start")).toBe("red or blue?");
  const first = emulator.sentTo(group.id).at(-1)!;
  expect(labels(first)).toEqual(["Red", "Blue"]);

  // Someone else in the group taps the asker's question.
  const foreign = emulator.tapButton(other, first, "Red");
  await waitFor(() => answered((foreign.callback_query as { id: string }).id)?.answered, "the foreign tap to be acknowledged");
  expect(answered((foreign.callback_query as { id: string }).id)?.text).toBe("This question is for someone else.");

  // The asker types instead of tapping.
  expect(await asker.say("blue")).toBe("tea or coffee?");
  // A tap on the first question, answered already.
  const late = emulator.tapButton(asker.user, first, "Red");
  await waitFor(() => answered((late.callback_query as { id: string }).id)?.answered, "the late tap to be acknowledged");
  expect(answered((late.callback_query as { id: string }).id)?.text).toBe("This question is no longer open.");

  const second = await botMessage(emulator, group.id, 2);
  emulator.tapButton(asker.user, second, "Coffee");
  expect(await asker.hear()).toBe("you chose blue and Coffee");
  expect(seen).toEqual(["blue", "blue", "Coffee"]);
});

test("buttons of an agent's own keyboard are acknowledged by timbre and reach the agent as ctx.update", async () => {
  const taps: unknown[] = [];
  const agent: Agent = async (ctx) => {
    if (ctx.text !== undefined) {
      await ctx.reply("pick", { reply_markup: { inline_keyboard: [[{ text: "Mine", callback_data: "my-own" }]] } });
      return;
    }
    taps.push((ctx.update.callback_query as { data?: string }).data);
  };
  await start("own-buttons", agent);
  const person = new Person(emulator, newUser("Owner"));
  expect(await person.say("go")).toBe("pick");
  const tap = emulator.tapButton(person.user, emulator.sentTo(person.chatId).at(-1)!, "Mine");
  await waitFor(() => taps.length === 1 && answered((tap.callback_query as { id: string }).id)?.answered, "the tap to reach the agent and be acknowledged");
  expect(taps).toEqual(["my-own"]);
});

test("a question too long for one message shows its buttons once, under its last part, and a tap there answers", async () => {
  const question = `${"Read the whole contract carefully before you answer. ".repeat(100)}\nDo you accept?`;
  expect(question.length).toBeGreaterThan(4096);
  await start("long-question", async (ctx) => {
    await ctx.reply(`you chose ${await ctx.ask(question, { choices: ["Yes", "No"] })}`);
  });
  const person = new Person(emulator, newUser("Reader"));
  emulator.sendText(person.user, "go");
  await waitFor(() => emulator.sentTo(person.chatId).length === 2, "both parts of the question");
  const [first, last] = emulator.sentTo(person.chatId);
  expect([first!.text.startsWith("Read the whole contract"), last!.text.endsWith("\nDo you accept?")]).toEqual([true, true]);
  expect(first!.reply_markup).toBeUndefined();
  expect(labels(last!)).toEqual(["Yes", "No"]);
  emulator.tapButton(person.user, last!, "No");
  await waitFor(() => emulator.sentTo(person.chatId).at(-1)?.text === "you chose No", "the answer");
});

import { beforeAll, expect, test } from "bun:test";
import { coachText } from "../../src/agents/coach.ts";
import type { Agent } from "../../src/runtime/context.ts";
import type { EmulatedUser } from "../../src/sandbox/emulator.ts";
import { serviceRig, waitFor, type Service } from "../helpers.ts";
import { botMessage, newUser } from "./support.ts";

const rig = serviceRig();
const { emulator } = rig;
let service: Service;

beforeAll(async () => {
  service = await rig.start({ AGENT: "coach", SEND_RATE_PER_CHAT: "1000", SEND_RATE_PER_GROUP: "1000", SEND_RATE_GLOBAL: "10000" });
});

const dayLines = (plan: string) => plan.split("\n").filter((line) => line.startsWith("Day "));

test("two users in one group chat have separate conversations", async () => {
  const group = { id: -1001234567890, type: "supergroup", title: "Gym buddies" };
  const ann = newUser("Ann");
  const ben = newUser("Ben");
  let count = 0;
  /** Someone speaks in the group; the bot answers with one message. */
  const say = async (user: EmulatedUser, text: string) => {
    emulator.sendText(user, text, group);
    return (await botMessage(emulator, group.id, ++count)).text;
  };
  const t = coachText.en;
  expect(await say(ann, "plan for me")).toBe(t.goal);
  expect(await say(ben, "me too")).toBe(t.goal);
  expect(await say(ann, "Ann wants to run a 10k")).toBe(t.days);
  expect(await say(ben, "Ben wants to get stronger")).toBe(t.days);
  expect(await say(ben, "3")).toBe(t.level);
  expect(await say(ann, "2")).toBe(t.level);
  const annPlan = await say(ann, "beginner");
  const benPlan = await say(ben, "advanced");
  expect(annPlan).toContain("Ann wants to run a 10k");
  expect(annPlan).not.toContain("Ben");
  expect(dayLines(annPlan)).toHaveLength(2);
  expect(benPlan).toContain("Ben wants to get stronger");
  expect(dayLines(benPlan)).toHaveLength(3);
  expect(benPlan).toContain("(advanced)");

  const runs = service.runtime.list({ limit: 10 }).filter((r) => r.chatId === group.id);
  expect(runs.map((r) => `${r.userId} ${r.status}`).sort()).toEqual([`${ann.id} done`, `${ben.id} done`].sort());
  // /cancel in the group only cancels the sender's own conversation.
  expect(await say(ann, "again")).toBe(t.goal);
  expect(await say(ben, "/cancel")).toBe("There is nothing to cancel.");
  expect(await say(ann, "swim 1 km")).toBe(t.days);
});

test("in a forum topic every question and the plan go to the same message_thread_id", async () => {
  const forum = { id: -1009876543210, type: "supergroup", title: "Coaching", is_forum: true };
  const cleo = newUser("Cleo", "es");
  let messageId = 500;
  const sayInTopic = async (text: string, count: number) => {
    emulator.pushUpdate({
      message: { message_id: messageId++, message_thread_id: 77, is_topic_message: true, from: { is_bot: false, ...cleo }, chat: forum, date: 1_700_000_000, text },
    });
    return (await botMessage(emulator, forum.id, count)).text;
  };
  expect(await sayInTopic("hola", 1)).toBe(coachText.es.goal);
  expect(await sayInTopic("correr 5 km", 2)).toBe(coachText.es.days);
  expect(await sayInTopic("4", 3)).toBe(coachText.es.level);
  const plan = await sayInTopic("intermedio", 4);
  expect(plan.split("\n").filter((line) => line.startsWith("Día "))).toHaveLength(4);
  expect(await sayInTopic("/cancel", 5)).toBe("No hay nada que cancelar.");
  const sent = emulator.sentTo(forum.id);
  expect(sent.map((m) => m.params.message_thread_id)).toEqual([77, 77, 77, 77, 77]);
  await waitFor(() => service.runtime.list({ limit: 10 }).find((r) => r.chatId === forum.id)?.status === "done", "the run to end");
});

test("in a group a typed question replies to the message that started the run and asks for a reply (privacy mode delivers only replies); buttons, replies and private chats are left as they were", async () => {
  const group = { id: -1005550001111, type: "group", title: "Runners" };
  const dee = newUser("Dee");
  const started = emulator.sendText(dee, "plan please", group).message as { message_id: number };
  const asked = await botMessage(emulator, group.id, 1);
  expect(asked.text).toBe(coachText.en.goal);
  const prompt = { reply_parameters: { message_id: started.message_id, allow_sending_without_reply: true }, reply_markup: { force_reply: true, selective: true } };
  expect(asked.params).toMatchObject(prompt);
  emulator.sendText(dee, "run a 10k", group);
  expect((await botMessage(emulator, group.id, 2)).params).toMatchObject(prompt);
  emulator.sendText(dee, "2", group);
  const level = await botMessage(emulator, group.id, 3);
  expect(level.params.reply_parameters).toBeUndefined();
  expect(JSON.stringify(level.params.reply_markup)).toContain("inline_keyboard");
  emulator.sendText(dee, "Beginner", group);
  const plan = await botMessage(emulator, group.id, 4);
  expect(plan.params.reply_parameters).toBeUndefined();
  expect(plan.params.reply_markup).toBeUndefined();

  const eve = newUser("Eve");
  emulator.sendText(eve, "plan please");
  const privately = await botMessage(emulator, eve.id, 1);
  expect(privately.text).toBe(coachText.en.goal);
  expect(privately.params.reply_parameters).toBeUndefined();
  expect(privately.params.reply_markup).toBeUndefined();
});

const ownRig = serviceRig();

test("a question whose agent says where its answer goes (its own reply_markup or reply_parameters) is sent as the agent wrote it", async () => {
  const agent: Agent = async (ctx) => {
    await ctx.ask("Pick a colour", { reply_markup: { keyboard: [[{ text: "Red" }]], one_time_keyboard: true } });
    await ctx.ask("Why?", { reply_parameters: { message_id: 1, allow_sending_without_reply: true } });
  };
  await ownRig.start({ SEND_RATE_PER_GROUP: "1000" }, { agent });
  const group = { id: -1005550002222, type: "supergroup", title: "Colours" };
  const fay = newUser("Fay");
  ownRig.emulator.sendText(fay, "hi", group);
  const first = await botMessage(ownRig.emulator, group.id, 1);
  expect(first.params.reply_markup).toEqual({ keyboard: [[{ text: "Red" }]], one_time_keyboard: true });
  expect(first.params.reply_parameters).toBeUndefined();
  ownRig.emulator.sendText(fay, "Red", group);
  const second = await botMessage(ownRig.emulator, group.id, 2);
  expect(second.params.reply_parameters).toEqual({ message_id: 1, allow_sending_without_reply: true });
  expect(second.params.reply_markup).toBeUndefined();
});

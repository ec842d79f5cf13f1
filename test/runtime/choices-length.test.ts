/**
 * README: ctx.ask's choices are "1 to 100 choices of 1 to 64 characters": characters as a person
 * counts them. The check counted UTF-16 units, so a choice of 40 emoji was refused as over 64
 * (the llm agent's ask_user checked the same way).
 */
import { expect, test } from "bun:test";
import { toolRequestOf } from "../../src/agents/llm/tools.ts";
import type { Agent } from "../../src/runtime/context.ts";
import { serviceRig, connectWebhook, serviceEnv, startInProcess } from "../helpers.ts";
import { newUser, Person } from "./support.ts";

const { emulator, apiUrl, dir, services } = serviceRig();

test("a choice of 40 characters (emoji) is shown as a button and a tap on it answers", async () => {
  const choice = "👍".repeat(40);
  expect([...choice].length).toBe(40);
  const agent: Agent = async (ctx) => {
    try {
      const answer = await ctx.ask("how much do you like it?", { choices: [choice, "not at all"] });
      await ctx.reply(`answer: ${answer}`);
    } catch (error) {
      await ctx.reply(`refused: ${(error as Error).message}`);
    }
  };
  const service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/emoji.db`, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }), { agent });
  services.push(service);
  await connectWebhook(emulator, service.url);
  const person = new Person(emulator, newUser("Fan"));
  expect(await person.say("go")).toBe("how much do you like it?");
  const question = emulator.sentTo(person.chatId).at(-1)!;
  expect(question.reply_markup?.inline_keyboard.flat().map((b) => b.text)).toEqual([choice, "not at all"]);
  emulator.tapButton(person.user, question, choice);
  expect(await person.hear()).toBe(`answer: ${choice}`);
});

test("the llm agent's ask_user counts a choice's characters the same way", () => {
  const call = (choices: string[]) => toolRequestOf({ id: "c1", type: "function", function: { name: "ask_user", arguments: JSON.stringify({ question: "Which?", choices }) } });
  expect(call(["👍".repeat(40), "no"])).toEqual({ kind: "ask", question: "Which?", choices: ["👍".repeat(40), "no"] });
  expect(call(["👍".repeat(65)]).kind).toBe("error");
});

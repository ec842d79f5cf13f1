/**
 * README (ctx.ask): "shows one inline button per choice (... 1 to 100 choices of 1 to 64
 * characters)"; src/runtime/choices.ts promises to count "A choice's length in characters as a
 * person counts them: an emoji is one".
 *
 * A flag is one emoji and one character to a person, but two code points (regional indicators);
 * a thumbs-up with a skin tone is two code points too. choiceLength counted code points, so a
 * choice of 40 such emoji (40 characters) was refused as over 64; it counts graphemes now.
 */
import { expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { serviceRig, connectWebhook, serviceEnv, startInProcess } from "../helpers.ts";
import { newUser, Person } from "./support.ts";

const { emulator, apiUrl, dir, services } = serviceRig();

test("a choice of 40 flag emoji (40 characters) is shown as a button and a tap on it answers", async () => {
  const choice = "🇫🇷".repeat(20) + "👍🏽".repeat(20);
  expect([...new Intl.Segmenter("en", { granularity: "grapheme" }).segment(choice)].length).toBe(40);
  const agent: Agent = async (ctx) => {
    try {
      const answer = await ctx.ask("which flags?", { choices: [choice, "none"] });
      await ctx.reply(`answer: ${answer}`);
    } catch (error) {
      await ctx.reply(`refused: ${(error as Error).message}`);
    }
  };
  const service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/flags.db`, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }), { agent });
  services.push(service);
  await connectWebhook(emulator, service.url);
  const person = new Person(emulator, newUser("Flags"));
  expect(await person.say("go")).toBe("which flags?");
  const question = emulator.sentTo(person.chatId).at(-1)!;
  emulator.tapButton(person.user, question, choice);
  expect(await person.hear()).toBe(`answer: ${choice}`);
});

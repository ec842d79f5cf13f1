/**
 * SPEC "Agent runtime": "A message that arrives while the run waits on `ask` is the answer." The Bot
 * API: "If there are no new updates for at least a week, then identifier of the next update will be
 * chosen randomly instead of sequentially", so an answer given after a quiet week may carry a lower
 * update_id than the run's trigger: it still answers (only an update also stored before the run is
 * older than it).
 */
import { expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { postUpdate, serviceRig } from "../helpers.ts";
import { botMessage } from "./support.ts";

const rig = serviceRig();

const text = (updateId: number, messageId: number, chatId: number, body: string) => ({
  update_id: updateId,
  message: { message_id: messageId, date: 1_700_000_000, chat: { id: chatId, type: "private", first_name: "Quiet" }, from: { id: chatId, is_bot: false, first_name: "Quiet" }, text: body },
});

test("a new message answers the waiting question even when Telegram numbered it below the run's trigger", async () => {
  const agent: Agent = async (ctx) => {
    const goal = await ctx.ask("What is your goal?", { timeoutSeconds: 30 * 24 * 3600 });
    await ctx.reply(`goal: ${goal}`);
  };
  const service = await rig.start({ SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }, { agent });
  const chatId = 8123;
  expect((await postUpdate(service.url, text(900_000_000, 1, chatId, "plan"))).status).toBe(200);
  expect((await botMessage(rig.emulator, chatId, 1)).text).toBe("What is your goal?");
  // A week later, with no update to the bot meanwhile, Telegram picks the next id at random.
  expect((await postUpdate(service.url, text(12_345, 3, chatId, "run a marathon"))).status).toBe(200);
  expect((await botMessage(rig.emulator, chatId, 2, 3_000)).text).toBe("goal: run a marathon");
});

/**
 * A business chat is a chat of the business account, "independent from any potential bot chat
 * which might share the same identifier" (Bot API, Message.business_connection_id). The
 * customer's business chat with the account and the customer's private chat with the bot have the
 * same chat id, but they are different chats, so they must be different conversations.
 */
import { afterEach, expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { connectWebhook, serviceEnv, startEmulator, startInProcess, tempDir, waitFor } from "../helpers.ts";
import { botMessage, newUser } from "./support.ts";

const LIFTED = { SEND_RATE_PER_CHAT: "1000", SEND_RATE_PER_GROUP: "1000", SEND_RATE_GLOBAL: "10000" };
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(agent: Agent) {
  const { emulator, apiUrl } = startEmulator();
  const dir = tempDir();
  cleanups.push(() => dir.cleanup(), () => emulator.stop());
  const service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, LIFTED), { agent });
  cleanups.push(() => service.stop());
  await connectWebhook(emulator, service.url);
  return { emulator, service };
}

test("a question asked in the bot's private chat is not answered from (nor blocks) the same person's business chat", async () => {
  // Texts in the bot's own chat ask a question; a business message just gets a reply.
  const agent: Agent = async (ctx) => {
    if (ctx.text !== undefined) {
      const answer = await ctx.ask("what is your goal?");
      await ctx.reply(`goal: ${answer}`);
      return;
    }
    await ctx.reply("business message seen");
  };
  const { emulator, service } = await setup(agent);
  const flo = newUser("Flo");
  emulator.sendText(flo, "hi bot");
  expect((await botMessage(emulator, flo.id, 1)).text).toBe("what is your goal?");
  await waitFor(() => service.runtime.list({ limit: 10 }).some((run) => run.status === "waiting"), "the private run to wait on its question");

  // Flo now writes to a shop whose business account is connected to this bot: another chat.
  const biz = emulator.sendText(flo, "is the shop open?", undefined, { businessConnectionId: "biz-conn-1" });
  const runs = () => service.runtime.list({ limit: 10 });
  // The business message has a conversation of its own: it starts its own run at once, not queued
  // behind the private chat's question (which may wait a day).
  await waitFor(() => service.inbox.row(biz.update_id)?.status !== undefined && service.inbox.row(biz.update_id)?.status !== "received", "the business message to be routed");
  const replied = await waitFor(() => emulator.sentTo(flo.id).some((m) => m.params.business_connection_id === "biz-conn-1"), "a reply through the business connection", 5_000).catch(() => false);
  expect({ replied, status: service.inbox.row(biz.update_id)?.status, runs: runs().map((r) => [r.conversation, r.status]) }).toMatchObject({ replied: true, status: "done" });
  expect(new Set(runs().map((run) => run.conversation)).size).toBe(2);
});

test("a question asked in a business chat is not answered by a text in the bot's private chat", async () => {
  const agent: Agent = async (ctx) => {
    if (ctx.text === undefined) {
      const answer = await ctx.ask("which size?");
      await ctx.reply(`size: ${answer}`);
      return;
    }
    await ctx.reply(`private: ${ctx.text}`);
  };
  const { emulator, service } = await setup(agent);
  const gil = newUser("Gil");
  emulator.sendText(gil, "do you have boots?", undefined, { businessConnectionId: "biz-conn-2" });
  const question = await botMessage(emulator, gil.id, 1);
  expect([question.text, question.params.business_connection_id]).toEqual(["which size?", "biz-conn-2"]);
  await waitFor(() => service.runtime.list({ limit: 10 }).some((run) => run.status === "waiting"), "the business run to wait on its question");

  // Gil, in the bot's own private chat (no business connection), says something unrelated.
  const privateText = emulator.sendText(gil, "/help me with my account");
  await waitFor(() => ["done", "failed"].includes(service.inbox.row(privateText.update_id)?.status ?? ""), "the private text to be handled");
  await service.outbox.whenIdle();
  const sent = emulator.sentTo(gil.id).map((m) => [m.text, m.params.business_connection_id ?? null]);
  // The private text gets its own answer in the private chat; the business question is still open.
  expect(sent).toEqual([
    ["which size?", "biz-conn-2"],
    ["private: /help me with my account", null],
  ]);
});

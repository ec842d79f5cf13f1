/**
 * A run that sleeps (ctx.sleep) waits on no question: the sandbox shows no "waiting for your
 * answer" for it (its history said waiting: ""), and sleepers never crowd a question out (the
 * page read the newest 1,000 waiting runs, so 1,000 newer sleepers hid an older question).
 */
import { afterAll, expect, test } from "bun:test";
import { startService } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/observability/log.ts";
import type { Agent } from "../../src/runtime/context.ts";
import { tempDir, waitFor } from "../helpers.ts";

const dir = tempDir();
const agent: Agent = async (ctx) => {
  if (ctx.text === "ask") {
    await ctx.ask("which day?");
    return;
  }
  await ctx.reply("sleeping");
  await ctx.sleep(3600);
};
const service = await startService(loadConfig({ DATABASE_PATH: `${dir.path}/timbre.db`, PORT: "0", HOST: "127.0.0.1", SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "10000" }), { logger: silentLogger, agent });

afterAll(async () => {
  await service.stop();
  dir.cleanup();
});

test("GET /sandbox/history gives waiting: null for a chat whose run sleeps", async () => {
  const user = { id: 7101, first_name: "Sol", language_code: "en" };
  const sent = await fetch(`${service.url}/sandbox/send`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user, text: "nap" }) });
  expect(sent.status).toBe(200);
  await waitFor(() => service.runtime.list({ status: "waiting", limit: 10 }).find((run) => run.chatId === user.id), "the run to sleep");
  const history = (await (await fetch(`${service.url}/sandbox/history`)).json()) as { chats: { chat_id: number; waiting: string | null }[] };
  expect(history.chats.find((chat) => chat.chat_id === user.id)!.waiting).toBeNull();
});

test("a chat asked a question shows it waiting even with 1,000 newer runs asleep", async () => {
  const send = (user: { id: number; first_name: string }, text: string) =>
    fetch(`${service.url}/sandbox/send`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user, text }) });
  const asker = { id: 7200, first_name: "Ask" };
  expect((await send(asker, "ask")).status).toBe(200);
  await waitFor(() => service.runtime.list({ status: "waiting", limit: 10 }).find((run) => run.chatId === asker.id), "the question to wait");
  for (let i = 0; i < 1000; i += 50) {
    const answers = await Promise.all(Array.from({ length: 50 }, (_, j) => send({ id: 8000 + i + j, first_name: "Nap" }, "nap")));
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
  }
  await waitFor(() => service.runtime.counts().waiting >= 1001, "1,000 sleepers", 30_000);
  const history = (await (await fetch(`${service.url}/sandbox/history`)).json()) as { chats: { chat_id: number; waiting: string | null }[] };
  expect(history.chats.find((chat) => chat.chat_id === asker.id)!.waiting).toBe("which day?");
}, 60_000);

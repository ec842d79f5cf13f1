import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { connectWebhook, serviceEnv, startEmulator, startInProcess, tempDir, waitFor, type Service } from "../helpers.ts";
import { botMessage, gate, newUser } from "./support.ts";

const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
let service: Service;
let busyNow = 0;
let mostAtOnce = 0;
const gates = new Map<string, ReturnType<typeof gate>>();
const gateFor = (text: string) => gates.get(text) ?? (gates.set(text, gate()), gates.get(text)!);

/** "ask ..." texts wait on a question (not busy); other texts keep the run busy until their gate opens. */
const agent: Agent = async (ctx) => {
  const text = ctx.text ?? "";
  if (text.startsWith("ask")) {
    await ctx.reply(`answer was ${await ctx.ask("your answer?")}`);
    return;
  }
  busyNow++;
  mostAtOnce = Math.max(mostAtOnce, busyNow);
  await ctx.reply(`busy ${text}`);
  await gateFor(text).opened;
  busyNow--;
  await ctx.reply(`done ${text}`);
};

beforeAll(async () => {
  const env = serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { MAX_CONCURRENCY: "2", SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "10000" });
  service = await startInProcess(env, { agent });
  await connectWebhook(emulator, service.url);
});

afterAll(async () => {
  await service.stop();
  emulator.stop();
  dir.cleanup();
});

test("MAX_CONCURRENCY bounds busy runs across chats; runs waiting on a question hold no slot", async () => {
  // Five runs waiting on questions first: with 2 slots, they would block everything if they held one.
  const askers = Array.from({ length: 5 }, (_, i) => newUser(`Asker${i}`));
  for (const user of askers) emulator.sendText(user, "ask me");
  for (const user of askers) await botMessage(emulator, user.id, 1);
  expect(service.runtime.counts().waiting).toBe(5);

  const workers = Array.from({ length: 3 }, (_, i) => newUser(`Worker${i}`));
  for (const [i, user] of workers.entries()) emulator.sendText(user, `w${i}`);
  await botMessage(emulator, workers[0]!.id, 1);
  await botMessage(emulator, workers[1]!.id, 1);
  // The third waits for a slot; it has a run, recorded as running, but has not started.
  await waitFor(() => service.runtime.counts().running === 3, "three runs recorded");
  expect(emulator.sentTo(workers[2]!.id)).toHaveLength(0);

  gateFor("w0").open();
  await botMessage(emulator, workers[2]!.id, 1);
  expect(emulator.sentTo(workers[0]!.id).at(-1)?.text).toBe("done w0");
  gateFor("w1").open();
  gateFor("w2").open();
  await botMessage(emulator, workers[2]!.id, 2);
  expect(mostAtOnce).toBe(2);

  // The waiting runs still get their answers.
  for (const user of askers) emulator.sendText(user, "42");
  for (const user of askers) expect((await botMessage(emulator, user.id, 2)).text).toBe("answer was 42");
  await waitFor(() => service.runtime.counts().running + service.runtime.counts().waiting === 0, "every run to end");
});

import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { connectWebhook, serviceEnv, startEmulator, startInProcess, tempDir, waitFor, type Service } from "../helpers.ts";
import { botMessage, gate, newUser } from "./support.ts";

const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
let service: Service;

/** Each run says it started, stays busy until the test lets it go, asks one question, then says it ended. */
const gates = new Map<string, ReturnType<typeof gate>>();
const gateFor = (text: string) => gates.get(text) ?? (gates.set(text, gate()), gates.get(text)!);
const busyThenAsk: Agent = async (ctx) => {
  const text = ctx.text ?? "";
  await ctx.reply(`start ${text}`);
  await gateFor(text).opened;
  const answer = await ctx.ask(`question of ${text}`);
  await ctx.reply(`end ${text} with ${answer}`);
};

beforeAll(async () => {
  service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "10000" }), { agent: busyThenAsk });
  await connectWebhook(emulator, service.url);
});

afterAll(async () => {
  await service.stop();
  emulator.stop();
  dir.cleanup();
});

test("texts sent while a run is busy wait, in order, and each starts the next run when the one before ends", async () => {
  const user = newUser("Queued");
  const texts = () => emulator.sentTo(user.id).map((m) => m.text);
  emulator.sendText(user, "a");
  await botMessage(emulator, user.id, 1);
  // Busy (not asking): these queue behind run a, in order.
  const b = emulator.sendText(user, "b");
  const c = emulator.sendText(user, "c");
  await waitFor(() => service.inbox.row(c.update_id)?.status === "processing", "c to be queued");
  expect(service.inbox.row(b.update_id)?.status).toBe("processing");
  expect(service.runtime.list({ limit: 10 }).filter((r) => r.chatId === user.id)).toHaveLength(1);

  gateFor("a").open();
  await botMessage(emulator, user.id, 2);
  expect(texts()).toEqual(["start a", "question of a"]);
  // Now it asks: the next text is the answer, not a new run; b and c still wait.
  emulator.sendText(user, "yes");
  await botMessage(emulator, user.id, 4);
  expect(texts()).toEqual(["start a", "question of a", "end a with yes", "start b"]);

  gateFor("b").open();
  await botMessage(emulator, user.id, 5);
  emulator.sendText(user, "ok");
  await botMessage(emulator, user.id, 7);
  gateFor("c").open();
  await botMessage(emulator, user.id, 8);
  emulator.sendText(user, "fine");
  await botMessage(emulator, user.id, 9);
  await waitFor(() => service.runtime.list({ limit: 10 }).filter((r) => r.chatId === user.id && r.status === "done").length === 3, "three runs done");
  expect(texts()).toEqual(["start a", "question of a", "end a with yes", "start b", "question of b", "end b with ok", "start c", "question of c", "end c with fine"]);
  const runs = service.runtime.list({ limit: 10 }).filter((r) => r.chatId === user.id);
  expect(runs.map((r) => r.triggerUpdateId).reverse()).toEqual([runs.at(-1)!.triggerUpdateId, b.update_id, c.update_id]);
  expect([b, c].map((u) => service.inbox.row(u.update_id)?.status)).toEqual(["done", "done"]);
});

test("another chat is never held up by a busy one", async () => {
  const busy = newUser("Busy");
  const free = newUser("Free");
  emulator.sendText(busy, "slow");
  await botMessage(emulator, busy.id, 1);
  emulator.sendText(free, "quick");
  gateFor("quick").open();
  expect((await botMessage(emulator, free.id, 2)).text).toBe("question of quick");
  emulator.sendText(free, "done");
  expect((await botMessage(emulator, free.id, 3)).text).toBe("end quick with done");
  expect(emulator.sentTo(busy.id)).toHaveLength(1);
  gateFor("slow").open();
  await botMessage(emulator, busy.id, 2);
});

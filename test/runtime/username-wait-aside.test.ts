/**
 * README "How timbre reads updates", Its own username: "timbre calls `getMe` on start ... in the
 * background: start-up and the inbox never wait for it ... A command addressed to some bot
 * (`/x@name`) that arrives before the username is known waits for it, at most until 10 s after
 * the start". SPEC "Delivery guarantees": "Different chats run in parallel, up to
 * `MAX_CONCURRENCY`" (agent runs), and "Reading updates": "Every `callback_query` is answered
 * ... within a few seconds".
 *
 * Only the addressed command (and its chat) waits. It held one of the dispatcher's
 * MAX_CONCURRENCY places while it waited, so with MAX_CONCURRENCY=1 one "/start@other_bot" in a
 * group kept a plain text in another chat, which needs no run at all (an echo), from being
 * answered until the 10 s grace was over; it now waits aside (Dispatcher's Aside).
 */
import { afterEach, expect, test } from "bun:test";
import { BotApiEmulator } from "../../src/sandbox/emulator.ts";
import { connectWebhook, serviceEnv, startInProcess, tempDir, waitFor } from "../helpers.ts";
import { newUser } from "./support.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An echo service whose getMe keeps failing, and Ben's "/start@other_bot" stored in a group (it waits for the username). */
async function commandWaitingForUsername(groupId: number, extra: Record<string, string> = {}) {
  const emulator = new BotApiEmulator({ username: "Echo_Of_Tests_Bot" });
  emulator.webhookRetryBaseMs = 100;
  const apiUrl = emulator.listen();
  const dir = tempDir();
  cleanups.push(() => dir.cleanup(), () => emulator.stop());
  emulator.faults = { ...emulator.faults, down: true, methods: ["getMe"] };
  const env = serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { AGENT: "echo", SEND_RATE_PER_CHAT: "1000", SEND_RATE_PER_GROUP: "1000", SEND_RATE_GLOBAL: "10000", ...extra });
  const service = await startInProcess(env);
  cleanups.push(() => service.stop());
  await connectWebhook(emulator, service.url);

  const group = { id: groupId, type: "supergroup", title: "Team" };
  const ben = newUser("Ben");
  const ann = newUser("Ann");
  const command = emulator.sendText(ben, "/start@other_bot", group);
  await waitFor(() => service.inbox.row(command.update_id), "Ben's command stored");
  return { emulator, service, group, ben, ann, command };
}

test("while getMe fails, a command addressed to some bot does not hold up a plain text in another chat", async () => {
  const { emulator, service, ann, command } = await commandWaitingForUsername(-1_002_330_001, { MAX_CONCURRENCY: "1" });
  emulator.sendText(ann, "hello");
  await waitFor(() => emulator.sentTo(ann.id).length === 1, "Ann's echo", 15_000);
  // Answered while Ben's command still waits for the username (it waits until 10 s after the start).
  expect(service.identity.username).toBeUndefined();
  expect(service.inbox.row(command.update_id)?.status).toBe("received");
}, 30_000);

test("a text in the chat of a command that waits for the username waits behind it, even one an instant reply answers", async () => {
  const { emulator, service, group, ben, ann, command } = await commandWaitingForUsername(-1_002_330_002);
  const hello = emulator.sendText(ben, "hello", group);
  emulator.sendText(ann, "hi");
  // Ann's echo comes after Ben's text was stored (the emulator delivers in order).
  await waitFor(() => emulator.sentTo(ann.id).length === 1, "Ann's echo", 15_000);
  expect(service.identity.username).toBeUndefined();
  expect({ group: emulator.sentTo(group.id).length, hello: service.inbox.row(hello.update_id)?.status }).toEqual({ group: 0, hello: "received" });
}, 30_000);

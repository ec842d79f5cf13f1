/**
 * Webhook delivery as Telegram does it: allowed_updates applied (its default leaves out chat_member
 * and reactions), a redirect is a failed delivery, max_connections within 1-100.
 */
import { expect, test } from "bun:test";
import { waitFor } from "../helpers.ts";
import { ana, cleanups, startEmulator, startReceiver, stopAfterEachTest } from "./emulator-support.ts";

stopAfterEachTest();

const typesOf = (hook: ReturnType<typeof startReceiver>) => hook.deliveries.map((d) => Object.keys(d.update).find((k) => k !== "update_id"));

test("with allowed_updates [message], an edited_message made after setWebhook is not delivered", async () => {
  const { emulator, call } = startEmulator();
  const hook = startReceiver();
  expect((await call("setWebhook", { url: hook.url, allowed_updates: ["message"] })).body).toEqual({ ok: true, result: true });
  const chat = { id: ana.id, type: "private", first_name: ana.first_name };
  // Same chat, so the webhook would deliver it before the message that follows.
  emulator.pushUpdate({ edited_message: { message_id: 1, from: { ...ana, is_bot: false }, chat, date: 1, edit_date: 2, text: "edited" } });
  emulator.sendText(ana, "a message");
  await waitFor(() => hook.deliveries.some((d) => d.update.message !== undefined), "the message delivered");
  expect(typesOf(hook)).toEqual(["message"]);
});

test("by default (no allowed_updates) a chat_member update is not delivered", async () => {
  const { emulator, call } = startEmulator();
  const hook = startReceiver();
  expect((await call("setWebhook", { url: hook.url })).body).toEqual({ ok: true, result: true });
  const chat = { id: -1001, type: "supergroup", title: "G" };
  const member = (status: string) => ({ user: { ...ana, is_bot: false }, status });
  emulator.pushUpdate({ chat_member: { chat, from: { ...ana, is_bot: false }, date: 1, old_chat_member: member("left"), new_chat_member: member("member") } });
  emulator.sendText(ana, "in the group", chat);
  await waitFor(() => hook.deliveries.some((d) => d.update.message !== undefined), "the message delivered");
  expect(typesOf(hook)).toEqual(["message"]);
});

test("a webhook answering 308 is a failed delivery: the update stays pending and the error shows in getWebhookInfo", async () => {
  const { emulator, call } = startEmulator();
  emulator.webhookRetryBaseMs = 60_000;
  const paths: string[] = [];
  const hook = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (request) => {
      const path = new URL(request.url).pathname;
      paths.push(path);
      if (path === "/hook") return new Response(null, { status: 308, headers: { location: "/elsewhere" } });
      return Response.json({ ok: true });
    },
  });
  cleanups.push(() => hook.stop(true));
  expect((await call("setWebhook", { url: `http://127.0.0.1:${hook.port}/hook` })).body.ok).toBe(true);
  emulator.sendText(ana, "hi");
  const info = await waitFor(async () => {
    const now = (await call("getWebhookInfo")).body.result as Record<string, unknown>;
    return now.last_error_message !== undefined || now.pending_update_count === 0 ? now : undefined;
  }, "the first delivery's outcome");
  expect(paths).toEqual(["/hook"]);
  expect(info.pending_update_count).toBe(1);
  expect(String(info.last_error_message)).toContain("308");
});

test("setWebhook with max_connections outside 1-100 is refused, and the webhook is left unset", async () => {
  const { call } = startEmulator();
  const hook = startReceiver();
  for (const maxConnections of [0, 101]) {
    const set = await call("setWebhook", { url: hook.url, max_connections: maxConnections });
    expect({ status: set.status, ok: set.body.ok }).toEqual({ status: 400, ok: false });
  }
  expect(((await call("getWebhookInfo")).body.result as { url: string }).url).toBe("");
});

test("a webhook that never answers is a failed delivery after the delivery timeout: tried again, and the error shows in getWebhookInfo", async () => {
  const { emulator, call } = startEmulator();
  emulator.webhookTimeoutMs = 200;
  const hook = startReceiver((_, attempt) => (attempt === 1 ? new Promise<number>(() => {}) : 200));
  expect((await call("setWebhook", { url: hook.url })).body.ok).toBe(true);
  emulator.sendText(ana, "hi");
  await waitFor(() => hook.deliveries.length === 2, "the update delivered again after the first attempt timed out");
  await waitFor(async () => ((await call("getWebhookInfo")).body.result as { pending_update_count: number }).pending_update_count === 0, "the second delivery to be taken");
  const info = (await call("getWebhookInfo")).body.result as Record<string, unknown>;
  expect(info.last_error_message).toBe("Read timeout expired");
});

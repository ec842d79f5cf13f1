/**
 * Webhook delivery as Telegram does it: allowed_updates applied (its default leaves out chat_member
 * and reactions), a redirect is a failed delivery, max_connections within 1-100.
 */
import { expect, test } from "bun:test";
import { BotApiEmulator } from "../../src/sandbox/emulator.ts";
import { waitFor } from "../helpers.ts";

function receiver() {
  const received: Record<string, unknown>[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      received.push((await request.json()) as Record<string, unknown>);
      return Response.json({ ok: true });
    },
  });
  return { url: `http://127.0.0.1:${server.port}/hook`, received, stop: () => server.stop(true) };
}

async function setWebhook(root: string, params: Record<string, unknown>) {
  const answer = await fetch(`${root}/bot42:TEST-token/setWebhook`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(params) });
  expect(await answer.json()).toEqual({ ok: true, result: true });
}

const ana = { id: 11, first_name: "Ana" };
const typesOf = (updates: Record<string, unknown>[]) => updates.map((u) => Object.keys(u).find((k) => k !== "update_id"));

test("with allowed_updates [message], an edited_message made after setWebhook is not delivered", async () => {
  const emulator = new BotApiEmulator({ token: "42:TEST-token" });
  const root = emulator.listen();
  const hook = receiver();
  try {
    await setWebhook(root, { url: hook.url, allowed_updates: ["message"] });
    const chat = { id: ana.id, type: "private", first_name: ana.first_name };
    // Same chat, so the webhook would deliver it before the message that follows.
    emulator.pushUpdate({ edited_message: { message_id: 1, from: { ...ana, is_bot: false }, chat, date: 1, edit_date: 2, text: "edited" } });
    emulator.sendText(ana, "a message");
    await waitFor(() => hook.received.some((u) => u.message !== undefined), "the message delivered");
    expect(typesOf(hook.received)).toEqual(["message"]);
  } finally {
    emulator.stop();
    hook.stop();
  }
});

test("by default (no allowed_updates) a chat_member update is not delivered", async () => {
  const emulator = new BotApiEmulator({ token: "42:TEST-token" });
  const root = emulator.listen();
  const hook = receiver();
  try {
    await setWebhook(root, { url: hook.url });
    const chat = { id: -1001, type: "supergroup", title: "G" };
    const member = (status: string) => ({ user: { ...ana, is_bot: false }, status });
    emulator.pushUpdate({ chat_member: { chat, from: { ...ana, is_bot: false }, date: 1, old_chat_member: member("left"), new_chat_member: member("member") } });
    emulator.sendText(ana, "in the group", chat);
    await waitFor(() => hook.received.some((u) => u.message !== undefined), "the message delivered");
    expect(typesOf(hook.received)).toEqual(["message"]);
  } finally {
    emulator.stop();
    hook.stop();
  }
});

test("a webhook answering 308 is a failed delivery: the update stays pending and the error shows in getWebhookInfo", async () => {
  const emulator = new BotApiEmulator({ token: "42:TEST-token" });
  emulator.webhookRetryBaseMs = 60_000;
  const root = emulator.listen();
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
  const call = async (method: string, params: Record<string, unknown> = {}) =>
    (await (await fetch(`${root}/bot42:TEST-token/${method}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(params) })).json()) as {
      ok: boolean;
      result: Record<string, unknown>;
    };
  try {
    expect((await call("setWebhook", { url: `http://127.0.0.1:${hook.port}/hook` })).ok).toBe(true);
    emulator.sendText({ id: 11, first_name: "Ana" }, "hi");
    const info = await waitFor(async () => {
      const now = (await call("getWebhookInfo")).result;
      return now.last_error_message !== undefined || now.pending_update_count === 0 ? now : undefined;
    }, "the first delivery's outcome");
    expect(paths).toEqual(["/hook"]);
    expect(info.pending_update_count).toBe(1);
    expect(String(info.last_error_message)).toContain("308");
  } finally {
    emulator.stop();
    hook.stop(true);
  }
});

test("setWebhook with max_connections 0 either is refused or still delivers, with max_connections within 1-100", async () => {
  const emulator = new BotApiEmulator({ token: "42:TEST-token" });
  const root = emulator.listen();
  const received: number[] = [];
  const hook = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      received.push(((await request.json()) as { update_id: number }).update_id);
      return Response.json({ ok: true });
    },
  });
  const call = async (method: string, params: Record<string, unknown> = {}) =>
    (await (await fetch(`${root}/bot42:TEST-token/${method}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(params) })).json()) as {
      ok: boolean;
      result?: Record<string, unknown>;
    };
  try {
    const set = await call("setWebhook", { url: `http://127.0.0.1:${hook.port}/hook`, max_connections: 0 });
    if (set.ok) {
      const info = (await call("getWebhookInfo")).result!;
      expect(info.max_connections as number).toBeGreaterThanOrEqual(1);
      expect(info.max_connections as number).toBeLessThanOrEqual(100);
      const update = emulator.sendText({ id: 11, first_name: "Ana" }, "hi");
      await waitFor(() => received.includes(update.update_id), "the update delivered", 5_000);
    }
  } finally {
    emulator.stop();
    hook.stop(true);
  }
});

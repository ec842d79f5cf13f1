/**
 * getUpdates as the Bot API documents it: a negative offset, allowed_updates remembered between
 * calls, and updates handed out with only their Bot API fields.
 */
import { expect, test } from "bun:test";
import { BotApiEmulator } from "../../src/sandbox/emulator.ts";
import { waitFor } from "../helpers.ts";

test("getUpdates with offset -1 answers only the last queued update and forgets the earlier ones", async () => {
  const emulator = new BotApiEmulator({ token: "42:TEST-token" });
  const root = emulator.listen();
  try {
    const call = async (params: Record<string, unknown>) =>
      (await (await fetch(`${root}/bot42:TEST-token/getUpdates`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(params) })).json()) as {
        ok: boolean;
        result: { update_id: number }[];
      };
    const ana = { id: 11, first_name: "Ana" };
    const ids = [emulator.sendText(ana, "one"), emulator.sendText(ana, "two"), emulator.sendText(ana, "three")].map((u) => u.update_id);

    const last = await call({ offset: -1 });
    expect(last.ok).toBe(true);
    expect(last.result.map((u) => u.update_id)).toEqual([ids[2]!]);
    // "All previous updates will be forgotten."
    const after = await call({});
    expect(after.result.map((u) => u.update_id)).toEqual([ids[2]!]);
    expect(emulator.pendingUpdates()).toBe(1);
  } finally {
    emulator.stop();
  }
});

test("getUpdates with allowed_updates [message] does not hand out an edited_message queued after the call", async () => {
  const emulator = new BotApiEmulator({ token: "42:TEST-token" });
  const root = emulator.listen();
  try {
    const poll = async (params: Record<string, unknown>) =>
      (await (await fetch(`${root}/bot42:TEST-token/getUpdates`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(params) })).json()) as {
        ok: boolean;
        result: Record<string, unknown>[];
      };
    // The setting is taken with this call; it applies to updates created after it.
    expect((await poll({ allowed_updates: ["message"] })).result).toEqual([]);
    const ana = { id: 11, first_name: "Ana" };
    const chat = { id: ana.id, type: "private", first_name: ana.first_name };
    emulator.pushUpdate({ edited_message: { message_id: 1, from: { ...ana, is_bot: false }, chat, date: 1, edit_date: 2, text: "edited" } });
    emulator.sendText(ana, "a message");
    const answer = await poll({ allowed_updates: ["message"] });
    expect(answer.result.map((u) => Object.keys(u).find((k) => k !== "update_id"))).toEqual(["message"]);
  } finally {
    emulator.stop();
  }
});

test("an update whose webhook delivery failed once comes out of getUpdates with only Bot API fields", async () => {
  const emulator = new BotApiEmulator({ token: "42:TEST-token" });
  emulator.webhookRetryBaseMs = 60_000;
  const root = emulator.listen();
  let attempts = 0;
  const hook = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => {
      attempts++;
      return new Response("down", { status: 500 });
    },
  });
  const call = async (method: string, params: Record<string, unknown> = {}) =>
    (await (await fetch(`${root}/bot42:TEST-token/${method}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(params) })).json()) as {
      ok: boolean;
      result: unknown;
    };
  try {
    expect((await call("setWebhook", { url: `http://127.0.0.1:${hook.port}/hook` })).ok).toBe(true);
    const sent = emulator.sendText({ id: 11, first_name: "Ana" }, "hi");
    await waitFor(async () => attempts >= 1 && ((await call("getWebhookInfo")).result as { last_error_message?: string }).last_error_message !== undefined, "one failed delivery");
    // The bot switches to polling, keeping its pending updates (as timbre's BOT_MODE=polling does).
    expect((await call("deleteWebhook")).ok).toBe(true);
    const polled = (await call("getUpdates")).result as Record<string, unknown>[];
    expect(polled).toHaveLength(1);
    expect(Object.keys(polled[0]!).sort()).toEqual(["message", "update_id"]);
    expect(polled[0]).toEqual(JSON.parse(JSON.stringify(sent)));
  } finally {
    emulator.stop();
    hook.stop(true);
  }
});

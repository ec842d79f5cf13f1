/**
 * Bot API, getUpdates and setWebhook allowed_updates: "Please note that this parameter doesn't affect
 * updates created before the call to getUpdates [setWebhook], so unwanted updates may be received for
 * a short period of time." A changed list filters only the updates created after it.
 */
import { expect, test } from "bun:test";
import { BotApiEmulator } from "../../src/sandbox/emulator.ts";
import { waitFor } from "../helpers.ts";

const ana = { id: 11, first_name: "Ana" };
const chat = { id: ana.id, type: "private", first_name: ana.first_name };
const edited = { edited_message: { message_id: 1, from: { ...ana, is_bot: false }, chat, date: 1, edit_date: 2, text: "edited" } };

test("getUpdates: an edited_message queued before the call that sets allowed_updates [message] is still handed out", async () => {
  const emulator = new BotApiEmulator({ token: "42:TEST-token" });
  const root = emulator.listen();
  try {
    const before = emulator.pushUpdate(edited);
    const answer = (await (
      await fetch(`${root}/bot42:TEST-token/getUpdates`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ allowed_updates: ["message"] }) })
    ).json()) as { ok: boolean; result: { update_id: number }[] };
    expect(answer.ok).toBe(true);
    expect(answer.result.map((u) => u.update_id)).toEqual([before.update_id]);
  } finally {
    emulator.stop();
  }
});

test("setWebhook: an edited_message queued before setWebhook with allowed_updates [message] is still delivered", async () => {
  const emulator = new BotApiEmulator({ token: "42:TEST-token" });
  const root = emulator.listen();
  const received: number[] = [];
  const hook = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (request) => {
      received.push(((await request.json()) as { update_id: number }).update_id);
      return new Response("{}");
    },
  });
  try {
    const before = emulator.pushUpdate(edited);
    const set = await fetch(`${root}/bot42:TEST-token/setWebhook`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ url: `http://127.0.0.1:${hook.port}/hook`, allowed_updates: ["message"] }),
    });
    expect(set.status).toBe(200);
    const after = emulator.sendText(ana, "a message");
    await waitFor(() => received.includes(after.update_id), "the message delivered");
    expect(received).toEqual([before.update_id, after.update_id]);
  } finally {
    emulator.stop();
    hook.stop(true);
  }
});

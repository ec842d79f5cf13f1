/**
 * Bot API, getUpdates and setWebhook allowed_updates: "Please note that this parameter doesn't affect
 * updates created before the call to getUpdates [setWebhook], so unwanted updates may be received for
 * a short period of time." A changed list filters only the updates created after it.
 */
import { expect, test } from "bun:test";
import { waitFor } from "../helpers.ts";
import { ana, startEmulator, startReceiver, stopAfterEachTest } from "./emulator-support.ts";

stopAfterEachTest();

const chat = { id: ana.id, type: "private", first_name: ana.first_name };
const edited = { edited_message: { message_id: 1, from: { ...ana, is_bot: false }, chat, date: 1, edit_date: 2, text: "edited" } };

test("getUpdates: an edited_message queued before the call that sets allowed_updates [message] is still handed out", async () => {
  const { emulator, call } = startEmulator();
  const before = emulator.pushUpdate(edited);
  const answer = await call("getUpdates", { allowed_updates: ["message"] });
  expect(answer.body.ok).toBe(true);
  expect((answer.body.result as { update_id: number }[]).map((u) => u.update_id)).toEqual([before.update_id]);
});

test("setWebhook: an edited_message queued before setWebhook with allowed_updates [message] is still delivered", async () => {
  const { emulator, call } = startEmulator();
  const hook = startReceiver();
  const before = emulator.pushUpdate(edited);
  expect((await call("setWebhook", { url: hook.url, allowed_updates: ["message"] })).status).toBe(200);
  const after = emulator.sendText(ana, "a message");
  await waitFor(() => hook.deliveries.some((d) => d.updateId === after.update_id), "the message delivered");
  expect(hook.deliveries.map((d) => d.updateId)).toEqual([before.update_id, after.update_id]);
});

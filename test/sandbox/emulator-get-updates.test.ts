/**
 * getUpdates as the Bot API documents it: a negative offset, allowed_updates remembered between
 * calls, and updates handed out with only their Bot API fields.
 */
import { expect, test } from "bun:test";
import { waitFor } from "../helpers.ts";
import { ana, startEmulator, startReceiver, stopAfterEachTest } from "./emulator-support.ts";

stopAfterEachTest();

const polled = (answer: { body: { result?: unknown } }) => answer.body.result as Record<string, unknown>[];

test("getUpdates with offset -1 answers only the last queued update and forgets the earlier ones", async () => {
  const { emulator, call } = startEmulator();
  const ids = [emulator.sendText(ana, "one"), emulator.sendText(ana, "two"), emulator.sendText(ana, "three")].map((u) => u.update_id);

  const last = await call("getUpdates", { offset: -1 });
  expect(last.body.ok).toBe(true);
  expect(polled(last).map((u) => u.update_id)).toEqual([ids[2]!]);
  // "All previous updates will be forgotten."
  expect(polled(await call("getUpdates")).map((u) => u.update_id)).toEqual([ids[2]!]);
  expect(emulator.pendingUpdates()).toBe(1);
});

test("getUpdates with allowed_updates [message] does not hand out an edited_message queued after the call", async () => {
  const { emulator, call } = startEmulator();
  // The setting is taken with this call; it applies to updates created after it.
  expect(polled(await call("getUpdates", { allowed_updates: ["message"] }))).toEqual([]);
  const chat = { id: ana.id, type: "private", first_name: ana.first_name };
  emulator.pushUpdate({ edited_message: { message_id: 1, from: { ...ana, is_bot: false }, chat, date: 1, edit_date: 2, text: "edited" } });
  emulator.sendText(ana, "a message");
  const answer = polled(await call("getUpdates", { allowed_updates: ["message"] }));
  expect(answer.map((u) => Object.keys(u).find((k) => k !== "update_id"))).toEqual(["message"]);
});

test("an update whose webhook delivery failed once comes out of getUpdates with only Bot API fields", async () => {
  const { emulator, call } = startEmulator();
  emulator.webhookRetryBaseMs = 60_000;
  const hook = startReceiver(() => 500);
  expect((await call("setWebhook", { url: hook.url })).body.ok).toBe(true);
  const sent = emulator.sendText(ana, "hi");
  await waitFor(async () => hook.deliveries.length >= 1 && ((await call("getWebhookInfo")).body.result as { last_error_message?: string }).last_error_message !== undefined, "one failed delivery");
  // The bot switches to polling, keeping its pending updates (as timbre's BOT_MODE=polling does).
  expect((await call("deleteWebhook")).body.ok).toBe(true);
  const updates = polled(await call("getUpdates"));
  expect(updates).toHaveLength(1);
  expect(Object.keys(updates[0]!).sort()).toEqual(["message", "update_id"]);
  expect(updates[0]).toEqual(JSON.parse(JSON.stringify(sent)));
});

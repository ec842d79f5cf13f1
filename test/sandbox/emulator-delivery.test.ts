/** The Bot API emulator delivers updates like Telegram: webhook deliveries, retries, per-chat order, getUpdates; exercised over real HTTP. */
import { expect, test } from "bun:test";
import { waitFor } from "../helpers.ts";
import { ana, ben, startEmulator, startReceiver, stopAfterEachTest } from "./emulator-support.ts";

stopAfterEachTest();

test("webhook delivery carries the secret header and the update as Telegram sends it", async () => {
  const { emulator, call } = startEmulator();
  const receiver = startReceiver();
  expect((await call("setWebhook", { url: receiver.url, secret_token: "s3cret_-X" })).body).toEqual({ ok: true, result: true });

  const update = emulator.sendText(ana, "hello");
  await waitFor(() => receiver.deliveries.length === 1, "the delivery");
  expect(receiver.deliveries[0]).toMatchObject({ updateId: update.update_id, chatId: ana.id, secret: "s3cret_-X" });
  await waitFor(() => emulator.pendingUpdates() === 0, "the update to leave the queue");

  const info = await call("getWebhookInfo");
  expect(info.body.result).toMatchObject({ url: receiver.url, pending_update_count: 0, has_custom_certificate: false });
});

test("a webhook answering non-2xx is retried with growing backoff until it succeeds; the failure shows in getWebhookInfo", async () => {
  const { emulator, call } = startEmulator();
  const receiver = startReceiver((_delivery, attempt) => (attempt <= 3 ? 500 : 200));
  await call("setWebhook", { url: receiver.url, secret_token: "s" });

  emulator.sendText(ana, "retry me");
  await waitFor(() => receiver.deliveries.length === 4, "four attempts", 5_000);
  const gaps = receiver.deliveries.slice(1).map((d, i) => d.at - receiver.deliveries[i]!.at);
  // Base 60 ms, doubling: about 60, 120, 240 ms.
  expect(gaps[0]!).toBeGreaterThanOrEqual(50);
  expect(gaps[1]!).toBeGreaterThanOrEqual(110);
  expect(gaps[2]!).toBeGreaterThanOrEqual(230);
  expect(gaps[2]!).toBeGreaterThan(gaps[0]!);
  await waitFor(() => emulator.pendingUpdates() === 0, "the update to be delivered");

  const info = (await call("getWebhookInfo")).body.result as { last_error_message?: string; last_error_date?: number };
  expect(info.last_error_message).toContain("500");
  expect(info.last_error_date).toBeGreaterThan(0);
  expect(new Set(receiver.deliveries.map((d) => d.updateId)).size).toBe(1);
});

test("one chat's updates arrive one at a time and in order, also across retries; other chats are not held up", async () => {
  const { emulator, call } = startEmulator();
  const inFlight = new Map<number, number>();
  let overlap = false;
  let benDelivered = 0;
  const receiver = startReceiver(async (delivery) => {
    const now = (inFlight.get(delivery.chatId) ?? 0) + 1;
    inFlight.set(delivery.chatId, now);
    if (now > 1) overlap = true;
    await Bun.sleep(Math.floor(Math.random() * 8));
    inFlight.set(delivery.chatId, now - 1);
    if (delivery.chatId === ben.id) benDelivered += 1;
    // Ana's first update fails until all of Ben's are in: her later ones must wait, his must not.
    return delivery.chatId === ana.id && delivery.updateId === anaIds[0] && benDelivered < 6 ? 502 : 200;
  });
  const anaIds: number[] = [];
  for (let i = 0; i < 6; i++) {
    anaIds.push(emulator.sendText(ana, `a${i}`).update_id);
    emulator.sendText(ben, `b${i}`);
  }
  await call("setWebhook", { url: receiver.url, max_connections: 10 });
  await waitFor(() => emulator.pendingUpdates() === 0, "every update to be delivered", 5_000);

  const seen = (chatId: number) => receiver.deliveries.filter((d) => d.chatId === chatId).map((d) => d.updateId);
  const anaSeen = seen(ana.id);
  const retries = anaSeen.filter((id) => id === anaIds[0]).length;
  expect(retries).toBeGreaterThan(1);
  expect(anaSeen).toEqual([...Array(retries).fill(anaIds[0]), ...anaIds.slice(1)]);
  const benSeen = seen(ben.id);
  expect(benSeen).toHaveLength(6);
  expect(benSeen).toEqual([...benSeen].sort((a, b) => a - b));
  // Ben's last update was delivered before Ana's first one finally went through.
  const lastBen = receiver.deliveries.findLast((d) => d.chatId === ben.id)!;
  const anaSuccess = receiver.deliveries.findLast((d) => d.updateId === anaIds[0])!;
  expect(lastBen.at).toBeLessThanOrEqual(anaSuccess.at);
  expect(overlap).toBe(false);
});

test("getUpdates answers 409 while a webhook is set, and hands out updates with offset once it is deleted", async () => {
  const { emulator, call } = startEmulator();
  const receiver = startReceiver(() => 503); // never accepts, so updates stay queued
  await call("setWebhook", { url: receiver.url });

  const conflict = await call("getUpdates", { timeout: 0 });
  expect(conflict.status).toBe(409);
  expect(conflict.body).toEqual({
    ok: false,
    error_code: 409,
    description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
  });

  const first = emulator.sendText(ana, "one");
  const second = emulator.sendText(ana, "two");
  expect((await call("deleteWebhook")).body).toEqual({ ok: true, result: true });
  const batch = (await call("getUpdates", { timeout: 0 })).body.result as { update_id: number }[];
  expect(batch.map((u) => u.update_id)).toEqual([first.update_id, second.update_id]);
  // The offset confirms what came before it.
  const rest = (await call("getUpdates", { offset: second.update_id, timeout: 0 })).body.result as { update_id: number }[];
  expect(rest.map((u) => u.update_id)).toEqual([second.update_id]);
  const none = (await call("getUpdates", { offset: second.update_id + 1, timeout: 0 })).body.result as unknown[];
  expect(none).toEqual([]);
  expect(emulator.pendingUpdates()).toBe(0);
});

test("a second long poll ends the first with 409, as Telegram does", async () => {
  const { call } = startEmulator();
  const firstPoll = call("getUpdates", { timeout: 5 });
  await Bun.sleep(50); // let the first poll register before the second arrives
  const secondPoll = call("getUpdates", { timeout: 0 });
  const first = await firstPoll;
  expect(first.status).toBe(409);
  expect(first.body.description).toContain("terminated by other getUpdates request");
  expect((await secondPoll).body).toEqual({ ok: true, result: [] });
});

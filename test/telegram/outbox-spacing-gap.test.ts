/** Per-chat spacing across an idle gap: a chat whose queue emptied still waits out its interval. */
import { expect, test } from "bun:test";
import { waitFor } from "../helpers.ts";
import { allSent, outboxTests, sendsTo } from "./outbox-support.ts";

const { setup } = outboxTests();

test("a message enqueued right after its chat's last one was sent still waits that chat's interval (private and group)", async () => {
  const { emulator, service } = await setup({ SEND_RATE_PER_CHAT: "1", SEND_RATE_PER_GROUP: "2" });
  const [privateChat, group] = [811, -811];
  for (const chatId of [privateChat, group]) service.outbox.enqueue({ chatId, text: "first" });
  await waitFor(() => service.outbox.counts().sent === 2, "both first messages recorded sent", 5_000, 2);
  // Their queues are empty now; the next messages come well inside the intervals (1 s, 0.5 s).
  for (const chatId of [privateChat, group]) service.outbox.enqueue({ chatId, text: "second" });
  await allSent(service, 4, 5_000);
  const gap = (chatId: number) => {
    const [first, second] = sendsTo(emulator, chatId);
    return second!.at - first!.at;
  };
  expect(gap(privateChat)).toBeGreaterThanOrEqual(1000);
  expect(gap(group)).toBeGreaterThanOrEqual(500);
});

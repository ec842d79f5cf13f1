/** The outbox's pace against the Bot API emulator: per-chat and global send rates, SEND_CONCURRENCY, and a 429 that pauses only its chat. */
import { describe, expect, test } from "bun:test";
import { waitFor } from "../helpers.ts";
import { ManualClock } from "../runtime/support.ts";
import { allSent, outboxTests, sendsTo } from "./outbox-support.ts";

const { setup } = outboxTests();

describe("rates and concurrency", () => {
  test("default rates: 5 messages to one chat take at least 4 s, evenly spaced", async () => {
    const { emulator, service } = await setup({ SEND_RATE_PER_CHAT: "", SEND_RATE_PER_GROUP: "", SEND_RATE_GLOBAL: "" });
    expect(service.config.sendRatePerChat).toBe(1);
    const chat = 806;
    for (let n = 1; n <= 5; n++) service.outbox.enqueue({ chatId: chat, text: `paced ${n}` });
    await allSent(service, 5, 10_000);
    const times = sendsTo(emulator, chat).map((c) => c.at);
    expect(emulator.sentTo(chat).map((m) => m.text)).toEqual([1, 2, 3, 4, 5].map((n) => `paced ${n}`));
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(4000);
    for (let i = 1; i < times.length; i++) {
      expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1000);
      expect(times[i]! - times[i - 1]!).toBeLessThan(2000); // evenly spaced, with slack for busy timers
    }
  });

  test("per-chat spacing holds as Telegram sees it, also when an answer is slow", async () => {
    const { emulator, service } = await setup({ SEND_RATE_PER_CHAT: "2" });
    const chat = 807;
    emulator.faults.delayMs = 400;
    service.outbox.enqueue({ chatId: chat, text: "slow answer" });
    service.outbox.enqueue({ chatId: chat, text: "next" });
    await waitFor(() => emulator.sentTo(chat).length === 1, "the first message", 5_000, 2);
    emulator.faults.delayMs = 0;
    await allSent(service, 2);
    const [first, second] = sendsTo(emulator, chat);
    // 500 ms apart where Telegram records them, although the first answer took 400 ms.
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(500);
  });

  test("SEND_RATE_GLOBAL=5 over 20 chats: one second's burst at once, then one send each 200 ms, never more and never behind", async () => {
    // The outbox's own time, moved by the test: what is sent by each moment is exact, whatever the machine's load.
    const clock = new ManualClock();
    const { emulator, service } = await setup({ SEND_RATE_GLOBAL: "5" }, { clock });
    for (let chat = 900; chat < 920; chat++) service.outbox.enqueue({ chatId: chat, text: `to ${chat}` });
    // A bucket of 5 tokens refilled at 5/s: the first 5 at once, then one every 200 ms.
    const sentBy: number[] = [];
    for (let step = 0; step <= 15; step++) {
      if (step > 0) clock.advance(200);
      const expected = 5 + step;
      // Settled: nothing in flight and the rest waiting for the clock (the sender's timer set for the next token).
      await waitFor(() => {
        const { sent, sending } = service.outbox.counts();
        return sending === 0 && sent >= expected && (sent === 20 || clock.pending > 0);
      }, `${expected} messages sent by ${step * 200} ms (now ${JSON.stringify(service.outbox.counts())})`);
      sentBy.push(emulator.callsOf("sendMessage").length);
    }
    expect(sentBy).toEqual(Array.from({ length: 16 }, (_, step) => 5 + step));
    expect(emulator.messages.map((m) => m.chat_id).sort()).toEqual(Array.from({ length: 20 }, (_, i) => 900 + i));
  });

  test("SEND_CONCURRENCY bounds the sends in flight, and is used", async () => {
    const { emulator, service } = await setup({ SEND_CONCURRENCY: "3" });
    emulator.faults.delayMs = 100;
    for (let chat = 930; chat < 942; chat++) service.outbox.enqueue({ chatId: chat, text: `to ${chat}` });
    await allSent(service, 12);
    expect(emulator.peakInFlight.get("sendMessage")).toBe(3);
    expect(emulator.messages).toHaveLength(12);
  });

  test("a 429 pauses only its chat, for retry_after; its later messages wait behind the retried one", async () => {
    const { emulator, service } = await setup();
    emulator.faults = { ...emulator.faults, rate429: 1, retryAfter: 1, methods: ["sendMessage"] };
    service.outbox.enqueue({ chatId: 950, text: "limited 1" });
    service.outbox.enqueue({ chatId: 950, text: "limited 2" });
    await waitFor(() => sendsTo(emulator, 950).length === 1, "the first 429", 5_000, 2);
    emulator.faults.rate429 = 0;
    service.outbox.enqueue({ chatId: 951, text: "other chat" });
    await waitFor(() => emulator.sentTo(951).length === 1, "the other chat's message");
    // The other chat went while 950 was paused; 950 resumes after retry_after, in order.
    expect(emulator.sentTo(950)).toHaveLength(0);
    await allSent(service, 3);
    const calls = sendsTo(emulator, 950);
    expect(calls.map((c) => c.params.text)).toEqual(["limited 1", "limited 1", "limited 2"]);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(1000);
    expect(calls[1]!.at - calls[0]!.at).toBeLessThan(2000); // retry_after, with slack for busy timers
  });
});

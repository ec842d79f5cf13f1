/**
 * The durable outbox under Telegram's faults, against the Bot API emulator: delivery once and in
 * order under 429s and 5xx, 4xx failures that do not block a chat, retries with backoff after
 * 5xx and network errors until SEND_MAX_ATTEMPTS.
 */
import { describe, expect, test } from "bun:test";
import { serviceEnv, startEmulator, startInProcess, tempDir, waitFor } from "../helpers.ts";
import { allSent, LIFTED, outboxTests, rowsOf, sendsTo } from "./outbox-support.ts";

const { cleanups, setup } = outboxTests();

describe("delivery under faults", () => {
  test("25% 429 (retry_after=1) and 5% 502: every message delivered exactly once, in order per chat", async () => {
    const { emulator, service } = await setup();
    emulator.faults = { ...emulator.faults, rate429: 0.25, retryAfter: 1, rate5xx: 0.05, methods: ["sendMessage"] };
    const chats = Array.from({ length: 8 }, (_, i) => 700 + i);
    const expected = new Map(chats.map((chat) => [chat, Array.from({ length: 6 }, (_, n) => `chat ${chat} message ${n}`)]));
    // Interleaved, as replies from many runs would be.
    for (let n = 0; n < 6; n++) for (const chat of chats) service.outbox.enqueue({ chatId: chat, text: expected.get(chat)![n]! });
    await allSent(service, 48, 30_000);

    expect(emulator.messages).toHaveLength(48);
    for (const chat of chats) expect(emulator.sentTo(chat).map((m) => m.text)).toEqual(expected.get(chat)!);
    const calls = emulator.callsOf("sendMessage");
    const limited = calls.filter((c) => c.status === 429);
    expect(limited.length).toBeGreaterThan(5);
    expect(calls.filter((c) => c.status === 502).length).toBeGreaterThan(0);

    // A 429 pauses its chat for retry_after (1 s) from the answer; other chats go on meanwhile.
    let othersWentOn = 0;
    for (const hit of limited) {
      const chat = Number(hit.params.chat_id);
      const next = calls.find((c) => c.at > hit.at && Number(c.params.chat_id) === chat);
      expect(next).toBeDefined();
      expect(next!.at - hit.at).toBeGreaterThanOrEqual(1000);
      // Not a second retry_after (or a backoff) on top; the slack absorbs a busy machine's timers.
      expect(next!.at - hit.at).toBeLessThan(2000);
      expect(next!.params.text).toBe(hit.params.text);
      if (calls.some((c) => c.at > hit.at && c.at < hit.at + 1000 && c.status === 200 && Number(c.params.chat_id) !== chat)) othersWentOn++;
    }
    expect(othersWentOn).toBeGreaterThan(0);

    // Each row records the message_id Telegram gave it; a 429 is not counted as an attempt.
    for (const chat of chats) {
      const byText = new Map(emulator.sentTo(chat).map((m) => [m.text, m.message_id]));
      for (const row of rowsOf(service, chat)) {
        expect(row.status).toBe("sent");
        expect(row.messageId).toBe(byText.get(row.text)!);
        const failedTries = sendsTo(emulator, chat).filter((c) => c.params.text === row.text && c.status === 502).length;
        expect(row.attempts).toBe(failedTries + 1);
      }
    }
  }, 40_000);

  test("403 marks the row failed with Telegram's description, not retried; later messages to the chat still go", async () => {
    const { emulator, service } = await setup({ SEND_RATE_PER_CHAT: "5" });
    const blocked = 801;
    emulator.faults.blockedChats.add(blocked);
    service.outbox.enqueue({ chatId: blocked, text: "first, while blocked" });
    service.outbox.enqueue({ chatId: blocked, text: "second" });
    service.outbox.enqueue({ chatId: blocked, text: "third" });
    // The user unblocks the bot right after the first message was refused.
    await waitFor(() => sendsTo(emulator, blocked).some((c) => c.status === 403), "the 403", 5_000, 2);
    emulator.faults.blockedChats.delete(blocked);
    await allSent(service, 2);

    expect(emulator.sentTo(blocked).map((m) => m.text)).toEqual(["second", "third"]);
    expect(sendsTo(emulator, blocked).filter((c) => c.params.text === "first, while blocked")).toHaveLength(1);
    const [first, second, third] = rowsOf(service, blocked);
    expect(first).toMatchObject({ status: "failed", attempts: 1, lastError: "Forbidden: bot was blocked by the user", messageId: null });
    expect(second).toMatchObject({ status: "sent", attempts: 1 });
    expect(third).toMatchObject({ status: "sent", attempts: 1 });
    expect(service.outbox.counts()).toEqual({ queued: 0, sending: 0, sent: 2, failed: 1 });
  });

  test("400 (empty text) also fails at once and does not block the chat", async () => {
    const { emulator, service } = await setup();
    const chat = 802;
    service.outbox.enqueue({ chatId: chat, text: "   " });
    service.outbox.enqueue({ chatId: chat, text: "after the bad one" });
    await allSent(service, 1);
    await waitFor(() => service.outbox.counts().failed === 1, "the failed row");
    expect(emulator.sentTo(chat).map((m) => m.text)).toEqual(["after the bad one"]);
    expect(sendsTo(emulator, chat)).toHaveLength(2);
    expect(rowsOf(service, chat)[0]).toMatchObject({ status: "failed", attempts: 1, lastError: "Bad Request: message text is empty" });
  });

  test("5xx: retried with growing backoff; after SEND_MAX_ATTEMPTS the row fails and the chat goes on", async () => {
    const { emulator, service } = await setup({ SEND_MAX_ATTEMPTS: "3" }, { backoffBaseMs: 200, backoffCapMs: 800 });
    const chat = 803;
    emulator.faults = { ...emulator.faults, down: true, methods: ["sendMessage"] };
    service.outbox.enqueue({ chatId: chat, text: "doomed" });
    service.outbox.enqueue({ chatId: chat, text: "survivor" });
    // Telegram comes back once the first message has used its attempts.
    await waitFor(() => rowsOf(service, chat)[0]?.status === "failed", "the first row to fail", 5_000, 2);
    emulator.faults.down = false;
    await allSent(service, 1);

    const doomed = sendsTo(emulator, chat).filter((c) => c.params.text === "doomed");
    expect(doomed.map((c) => c.status)).toEqual([502, 502, 502]);
    // Backoff: base 200 ms doubling, jittered to 50–100% of that.
    const gaps = [doomed[1]!.at - doomed[0]!.at, doomed[2]!.at - doomed[1]!.at];
    expect(gaps[0]).toBeGreaterThanOrEqual(100);
    expect(gaps[1]).toBeGreaterThanOrEqual(200);
    // Upper bounds with slack for a busy machine's timers: far below the default 1 s base.
    expect(gaps[0]).toBeLessThan(900);
    expect(gaps[1]).toBeLessThan(1100);
    expect(rowsOf(service, chat)[0]).toMatchObject({ status: "failed", attempts: 3, lastError: "Bad Gateway" });
    expect(emulator.sentTo(chat).map((m) => m.text)).toEqual(["survivor"]);
    expect(rowsOf(service, chat)[1]!.status).toBe("sent");
  });

  test("network errors: retried with backoff, then failed with the cause after SEND_MAX_ATTEMPTS", async () => {
    // A "Telegram" that accepts connections and closes them at once.
    const connections: number[] = [];
    const listener = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open(socket) {
          connections.push(Date.now());
          socket.end();
        },
        data() {},
      },
    });
    cleanups.push(() => listener.stop(true));
    const { emulator } = startEmulator();
    cleanups.push(() => emulator.stop());
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    const service = await startInProcess(serviceEnv(emulator, `http://127.0.0.1:${listener.port}`, `${dir.path}/timbre.db`, { ...LIFTED, SEND_MAX_ATTEMPTS: "4" }));
    cleanups.push(() => service.stop());

    service.outbox.enqueue({ chatId: 804, text: "into the void" });
    await waitFor(() => service.outbox.counts().failed === 1, "the row to fail");
    const [row] = rowsOf(service, 804);
    expect(row).toMatchObject({ status: "failed", attempts: 4, messageId: null });
    expect(row!.lastError).toBeTruthy();
    expect(connections.length).toBeGreaterThanOrEqual(4);
    // Backoff base 50 ms (startInProcess) doubling: the third wait is longer than the first.
    const attempts = connections.slice(-4);
    expect(attempts[3]! - attempts[2]!).toBeGreaterThanOrEqual(90);
    expect(attempts[3]! - attempts[2]!).toBeGreaterThan(attempts[1]! - attempts[0]!);
  });
});

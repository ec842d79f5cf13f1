/**
 * The durable outbox against the Bot API emulator: delivery once and in order under 429s and
 * 5xx, 4xx failures that do not block a chat, splitting, rates, concurrency, retries with
 * backoff, the typing indicator, and what a restart picks up.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import type { ServiceOptions } from "../../src/app.ts";
import type { BotApiEmulator, RecordedCall } from "../../src/sandbox/emulator.ts";
import { TELEGRAM_TEXT_LIMIT } from "../../src/telegram/split-text.ts";
import { postUpdate, serviceEnv, startEmulator, startInProcess, tempDir, textUpdate, waitFor, type Service } from "../helpers.ts";
import { ManualClock } from "../runtime/support.ts";

const LIFTED = { SEND_RATE_PER_CHAT: "1000", SEND_RATE_PER_GROUP: "1000", SEND_RATE_GLOBAL: "1000" };
/**
 * How much closer two sends can arrive at the emulator than the limiter granted them: each goes
 * through a commit's fsync, the event loop and the loopback first, which a busy machine stretches.
 */
const ARRIVAL_JITTER_MS = 100;
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A fresh emulator and service (rates lifted unless `env` says otherwise); stopped after the test. */
async function setup(env: Record<string, string> = {}, options: ServiceOptions = {}, dir = tempDir()) {
  const { emulator, apiUrl } = startEmulator();
  const databasePath = `${dir.path}/timbre.db`;
  cleanups.push(() => dir.cleanup(), () => emulator.stop());
  const service = await startInProcess(serviceEnv(emulator, apiUrl, databasePath, { ...LIFTED, ...env }), options);
  cleanups.push(() => service.stop());
  return { emulator, apiUrl, service, dir, databasePath };
}

function sendsTo(emulator: BotApiEmulator, chatId: number): RecordedCall[] {
  return emulator.callsOf("sendMessage").filter((call) => Number(call.params.chat_id) === chatId);
}

function rowsOf(service: Service, chatId: number) {
  return service.outbox
    .list({ limit: 10_000 })
    .filter((row) => row.chatId === chatId)
    .reverse();
}

async function allSent(service: Service, count: number, timeoutMs = 15_000) {
  await waitFor(() => service.outbox.counts().sent === count, `${count} messages sent (now ${JSON.stringify(service.outbox.counts())})`, timeoutMs);
}

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

describe("splitting", () => {
  test("a 10 000-character echo arrives as 3 ordered parts, none over 4096, split between lines", async () => {
    const { emulator, service } = await setup({ AGENT: "echo" });
    const lines = Array.from({ length: 100 }, (_, i) => `line ${String(i).padStart(3, "0")} `.padEnd(99, "~"));
    const text = `${lines.join("\n")}!`;
    expect(text.length).toBe(10_000);
    const user = { id: 805, first_name: "Long" };
    const response = await postUpdate(service.url, textUpdate(user, text));
    expect(response.status).toBe(200);
    await waitFor(() => emulator.sentTo(user.id).length === 3, "3 parts");
    await waitFor(() => service.outbox.counts().sent === 3, "3 rows sent");
    const parts = emulator.sentTo(user.id).map((m) => m.text);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
      expect(part).toMatch(/^line \d{3} /);
    }
    expect(parts.join("\n")).toBe(text);
    const rows = rowsOf(service, user.id);
    expect(rows.map((r) => r.text)).toEqual(parts);
    expect(new Set(rows.map((r) => r.runId)).size).toBe(1);
  });
});

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

describe("typing indicator", () => {
  test("a run working over 1 s shows typing, refreshed every ~4 s, never retried and never stored", async () => {
    const { emulator, service } = await setup(
      {},
      {
        agent: async (ctx) => {
          if (ctx.text === "slow") await Bun.sleep(5_300);
          await ctx.reply(`done ${ctx.text}`);
        },
      },
    );
    // Every typing call fails: a retry would show up as an extra call.
    emulator.faults = { ...emulator.faults, down: true, methods: ["sendChatAction"] };
    const slow = { id: 960, first_name: "Slow" };
    const fast = { id: 961, first_name: "Fast" };
    const postedAt = Date.now();
    expect((await postUpdate(service.url, textUpdate(slow, "slow"))).status).toBe(200);
    expect((await postUpdate(service.url, textUpdate(fast, "fast"))).status).toBe(200);
    await waitFor(() => emulator.sentTo(slow.id).length === 1, "the slow reply", 10_000);
    await waitFor(() => emulator.sentTo(fast.id).length === 1, "the fast reply");

    const typing = emulator.callsOf("sendChatAction");
    expect(typing.map((c) => [Number(c.params.chat_id), c.params.action, c.status])).toEqual([
      [slow.id, "typing", 502],
      [slow.id, "typing", 502],
    ]);
    expect(typing[0]!.at - postedAt).toBeGreaterThanOrEqual(1000);
    expect(typing[1]!.at - typing[0]!.at).toBeGreaterThanOrEqual(3_900);
    expect(typing[1]!.at - typing[0]!.at).toBeLessThan(5_500); // ~4 s, with slack for busy timers
    // Nothing but the replies went through the outbox.
    expect(service.outbox.list({ limit: 100 }).map((r) => r.text).sort()).toEqual(["done fast", "done slow"]);
    expect(emulator.sentTo(slow.id)[0]!.text).toBe("done slow");
  }, 20_000);
});

describe("enqueue", () => {
  test("an enqueue rolled back with its transaction sends nothing, and the id SQLite reuses does not jump a chat's queue", async () => {
    const { emulator, service } = await setup({ SEND_RATE_PER_CHAT: "2" });
    const [first] = service.outbox.enqueue({ chatId: 811, text: "b1" });
    let rolledBack: number | undefined;
    expect(() =>
      service.database.sqlite.transaction(() => {
        [rolledBack] = service.outbox.enqueue({ chatId: 812, text: "never sent" });
        throw new Error("the run failed after replying");
      })(),
    ).toThrow("the run failed after replying");
    const [second] = service.outbox.enqueue({ chatId: 811, text: "b2" });
    expect(second).toBe(rolledBack!); // the scenario this test is about
    await allSent(service, 2);
    expect(emulator.sentTo(812)).toHaveLength(0);
    const calls = sendsTo(emulator, 811);
    expect(calls.map((c) => c.params.text)).toEqual(["b1", "b2"]);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(500);
    expect(first).toBeLessThan(second!);
  });

  test("a message sent with options keeps them (message_thread_id, parse_mode) on every part", async () => {
    const { emulator, service } = await setup();
    service.outbox.enqueue({ chatId: -100_813, text: `${"a".repeat(4000)}\n${"b".repeat(200)}`, options: { message_thread_id: 7, parse_mode: "HTML" } });
    await allSent(service, 2);
    const calls = sendsTo(emulator, -100_813);
    expect(calls.map((c) => [c.params.message_thread_id, c.params.parse_mode, String(c.params.text).length])).toEqual([
      [7, "HTML", 4000],
      [7, "HTML", 200],
    ]);
  });
});

describe("restart", () => {
  test("stop() waits for a send in flight and records it as sent", async () => {
    const { emulator, service, databasePath } = await setup();
    emulator.faults.delayMs = 300;
    service.outbox.enqueue({ chatId: 972, text: "in flight at stop" });
    await waitFor(() => emulator.inFlightCalls.get("sendMessage") === 1, "the send to be in flight", 5_000, 2);
    await service.stop();
    expect(emulator.sentTo(972)).toHaveLength(1);
    const sqlite = new Database(databasePath);
    const row = sqlite.query("SELECT status, message_id FROM outbox").get();
    sqlite.close();
    expect(row).toEqual({ status: "sent", message_id: 1 });
  });

  test("on start, rows left `sending` are sent again and `queued` rows are sent, in order, once", async () => {
    const dir = tempDir();
    const first = await setup({ SEND_MAX_ATTEMPTS: "1000" }, {}, dir);
    const chat = 970;
    // Telegram is down: the rows stay queued, retrying.
    first.emulator.faults = { ...first.emulator.faults, down: true, methods: ["sendMessage"] };
    for (let n = 1; n <= 3; n++) first.service.outbox.enqueue({ chatId: chat, text: `pending ${n}` });
    await waitFor(() => sendsTo(first.emulator, chat).length >= 2, "a few failed attempts");
    await first.service.stop();
    expect(first.emulator.messages).toHaveLength(0);

    // As if the process died during the first row's send.
    const sqlite = new Database(first.databasePath);
    const statuses = sqlite.query("SELECT id, status FROM outbox ORDER BY id").all() as { id: number; status: string }[];
    expect(statuses.map((r) => r.status)).toEqual(["queued", "queued", "queued"]);
    sqlite.run("UPDATE outbox SET status = 'sending' WHERE id = ?", [statuses[0]!.id]);
    // And a row nobody can send (options that are not JSON) before a good one, in another chat.
    const now = Date.now();
    const insert = sqlite.prepare("INSERT INTO outbox (chat_id, text, options, status, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, 'queued', ?, ?, ?)");
    insert.run(971, "broken", "{not json", now, now, now);
    insert.run(971, "fine", null, now, now, now);
    sqlite.close();

    const second = await setup({}, {}, dir);
    await allSent(second.service, 4);
    expect(rowsOf(second.service, 971).map((r) => r.status)).toEqual(["failed", "sent"]);
    expect(second.emulator.sentTo(971).map((m) => m.text)).toEqual(["fine"]);
    expect(second.emulator.sentTo(chat).map((m) => m.text)).toEqual(["pending 1", "pending 2", "pending 3"]);
    expect(sendsTo(second.emulator, chat)).toHaveLength(3);
    expect(rowsOf(second.service, chat).map((r) => [r.status, r.messageId])).toEqual([
      ["sent", 1],
      ["sent", 2],
      ["sent", 3],
    ]);
  });
});

import { afterAll, expect, test } from "bun:test";
import { postUpdate, serviceEnv, startEmulator, startInProcess, tempDir, textUpdate, waitFor } from "../helpers.ts";

/**
 * Telegram answers 502 to everything for twelve times the outbox's backoff cap. The outbox must
 * back off (not hammer it), keep every message, and deliver all of them, in order per chat, once
 * it is back. The service runs in this process so its backoff can be scaled down (base 200 ms,
 * cap 1 s, where the defaults are 1 s and 30 s): the shape of the backoff and the outage's length
 * in backoff periods are those of a minute's outage at a 5 s cap, the test just does not take a minute.
 */
const BACKOFF_BASE_MS = 200;
const BACKOFF_CAP_MS = 1_000;
const OUTAGE_MS = 12 * BACKOFF_CAP_MS;
const CHATS = [4101, 4102, 4103, 4104, 4105];

const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
afterAll(() => {
  emulator.stop();
  dir.cleanup();
});

test("Telegram down (502) for twelve backoff caps: the outbox backs off, keeps everything, and delivers it all in order after", async () => {
  const env = serviceEnv(emulator, apiUrl, `${dir.path}/down.db`, {
    AGENT: "echo",
    SEND_RATE_PER_CHAT: "1000",
    SEND_RATE_GLOBAL: "1000",
    // Enough attempts to outlast the outage at this cap (the default 10 at the default 30 s cap ride out 75-150 s).
    SEND_MAX_ATTEMPTS: "40",
  });
  const service = await startInProcess(env, { backoffBaseMs: BACKOFF_BASE_MS, backoffCapMs: BACKOFF_CAP_MS });
  try {
    emulator.faults.down = true;
    const downSince = Date.now();
    const expected = new Map<number, string[]>(CHATS.map((chat) => [chat, []]));
    let nextId = 1;
    const postRound = async (round: number) => {
      for (const chat of CHATS) {
        const text = `round ${round} to ${chat}`;
        expect((await postUpdate(service.url, textUpdate({ id: chat, first_name: "D" }, text, nextId++))).status).toBe(200);
        expected.get(chat)!.push(text);
      }
    };
    // Updates keep arriving (and are stored and answered 200) while Telegram is down.
    for (let round = 0; round < 6; round++) {
      await postRound(round);
      await Bun.sleep(OUTAGE_MS / 6);
    }
    const total = CHATS.length * 6;
    expect(Date.now() - downSince).toBeGreaterThanOrEqual(OUTAGE_MS);
    expect(emulator.messages.length).toBe(0);
    const counts = service.outbox.counts();
    expect(counts.failed).toBe(0);
    expect(counts.queued + counts.sending).toBe(total);

    // Backing off: only the head of each chat is tried, less and less often.
    const attempts = emulator.calls.filter((c) => c.method === "sendMessage");
    const perChat = CHATS.map((chat) => attempts.filter((c) => Number(c.params.chat_id) === chat).map((c) => c.at));
    for (const times of perChat) {
      // Without backoff the outage's 502s would be hundreds of calls; with it, about 1 + 12 s / (average wait).
      expect(times.length).toBeGreaterThanOrEqual(5);
      expect(times.length).toBeLessThanOrEqual(30);
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      // The wait grows to the cap (with jitter it is between half the cap and the cap).
      expect(Math.min(...gaps.slice(-3))).toBeGreaterThanOrEqual(BACKOFF_CAP_MS / 2 - 50);
      expect(Math.max(...gaps)).toBeLessThanOrEqual(BACKOFF_CAP_MS + 500);
    }
    // Each 502 was counted as a retry (one may still be on its way back when this looks).
    expect(service.metrics.outboxRetries.get({ reason: "5xx" })).toBeGreaterThanOrEqual(attempts.length - CHATS.length);
    expect(service.metrics.outboxRetries.get({ reason: "5xx" })).toBeLessThanOrEqual(attempts.length);

    emulator.faults.down = false;
    const upSince = Date.now();
    await waitFor(() => emulator.messages.length >= total, "every queued message delivered after the outage", BACKOFF_CAP_MS + 10_000);
    const recoveryMs = Date.now() - upSince;
    expect(recoveryMs).toBeLessThanOrEqual(BACKOFF_CAP_MS + 2_000);
    await waitFor(() => service.outbox.counts().sent === total, "every message recorded as sent");
    expect(emulator.messages.length).toBe(total);
    for (const chat of CHATS) expect(emulator.sentTo(chat).map((m) => m.text)).toEqual(expected.get(chat)!);
    expect(service.outbox.counts()).toMatchObject({ queued: 0, sending: 0, failed: 0, sent: total });
    expect(service.inbox.counts()).toMatchObject({ failed: 0, done: total });
  } finally {
    await service.stop();
  }
}, OUTAGE_MS + 40_000);

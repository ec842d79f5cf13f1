/**
 * The outbox's wake-ups while a tick's commit is still in flight. On PostgreSQL every tick's
 * commit takes round trips, so the timer a rate-limited tick sets (SEND_RATE_GLOBAL) can fire,
 * and an enqueue can ask for a tick, before that commit has ended. Here the SQLite storage's
 * durable commit is held open by the test, which makes that moment happen on purpose.
 */
import { afterEach, expect, test } from "bun:test";
import type { Clock } from "../../src/clock.ts";
import { openDatabase } from "../../src/db/index.ts";
import { createLogger } from "../../src/observability/log.ts";
import type { BotApiEmulator } from "../../src/sandbox/emulator.ts";
import { TelegramApi } from "../../src/telegram/api.ts";
import { Outbox, sqliteOutboxStorage } from "../../src/telegram/outbox.ts";
import type { SendRate } from "../../src/telegram/send-rate.ts";
import { startEmulator, tempDir, waitFor } from "../helpers.ts";
import { gate, ManualClock } from "../runtime/support.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A global rate that refuses every send until `open()`, then grants all of them. */
function closedRate(): SendRate & { asked: number; open(): void } {
  let open = false;
  const rate = {
    asked: 0,
    open: () => void (open = true),
    *takeUpTo(n: number) {
      rate.asked++;
      return open ? { granted: n, waitMs: 0 } : { granted: 0, waitMs: 50 };
    },
  };
  return rate;
}

/** An outbox on SQLite whose next durable commit the test holds open until it lets it go. */
function setup(sendRate: SendRate, clock: Clock) {
  const { emulator, apiUrl } = startEmulator();
  const dir = tempDir();
  const database = openDatabase(`${dir.path}/outbox.db`);
  const log = createLogger("error", [], () => {});
  const storage = sqliteOutboxStorage(database.db, log);
  let held: ReturnType<typeof gate> | undefined;
  const durable = storage.durable;
  storage.durable = {
    async commit(fn, wrote) {
      const value = await durable.commit(fn, wrote);
      if (held) await held.opened;
      return value;
    },
  };
  const api = new TelegramApi({ apiUrl, token: emulator.token });
  const outbox = new Outbox(storage, api, clock, log, { ratePerChat: 1000, rateGlobal: 1000, concurrency: 4, maxAttempts: 3, sendRate });
  cleanups.push(
    () => dir.cleanup(),
    () => emulator.stop(),
    () => database.close(),
    () => outbox.stop(),
  );
  return {
    emulator,
    outbox,
    /** Holds every commit from now on at its end, until the returned function lets them all go. */
    holdCommits(): () => void {
      const current = gate();
      held = current;
      return () => {
        held = undefined;
        current.open();
      };
    },
  };
}

function texts(emulator: BotApiEmulator, chatId: number): string[] {
  return emulator.sentTo(chatId).map((m) => m.text);
}

test("the rate's timer fires while the tick that set it is still committing: the message is sent once the rate allows", async () => {
  const clock = new ManualClock();
  const rate = closedRate();
  const { emulator, outbox, holdCommits } = setup(rate, clock);
  const release = holdCommits();
  outbox.enqueue({ chatId: 501, text: "waits for the rate" });
  await waitFor(() => rate.asked === 1 && clock.pending === 1, "the refused tick to set its timer");

  rate.open();
  clock.advance(50); // the timer is due while that tick's commit is in flight
  release();
  await waitFor(() => texts(emulator, 501).length === 1, `the message sent (rate asked ${rate.asked} times)`, 3_000);
  expect(texts(emulator, 501)).toEqual(["waits for the rate"]);
  await outbox.whenIdle();
  expect(outbox.counts()).toMatchObject({ queued: 0, sending: 0, sent: 1 });
});

test("a message enqueued while a refused tick is committing is sent after that commit", async () => {
  const clock = new ManualClock();
  const rate = closedRate();
  const { emulator, outbox, holdCommits } = setup(rate, clock);
  const release = holdCommits();
  outbox.enqueue({ chatId: 502, text: "waited for the rate" });
  await waitFor(() => rate.asked === 1, "the refused tick to be committing");

  rate.open();
  outbox.enqueue({ chatId: 503, text: "enqueued meanwhile" });
  // The tick this enqueue asks for runs on the next turn, while the refused one still commits.
  await new Promise((resolve) => setImmediate(resolve));
  release();
  await waitFor(() => texts(emulator, 503).length === 1, `the message enqueued during the commit sent (rate asked ${rate.asked} times)`, 3_000);
  expect(texts(emulator, 502)).toEqual(["waited for the rate"]);
  expect(texts(emulator, 503)).toEqual(["enqueued meanwhile"]);
});

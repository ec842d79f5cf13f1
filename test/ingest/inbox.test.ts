import { afterEach, beforeEach, expect, test } from "bun:test";
import type { Clock } from "../../src/clock.ts";
import { openDatabase, type OpenDatabase } from "../../src/db/index.ts";
import { Inbox, type StoredUpdate } from "../../src/ingest/inbox.ts";
import { silentLogger } from "../../src/observability/log.ts";
import { Dispatcher } from "../../src/runtime/dispatcher.ts";
import { tempDir } from "../helpers.ts";

/** A clock the test moves by hand. */
function manualClock(start = 1_700_000_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, setTimeout: () => ({ cancel() {} }), advance: (ms) => (now += ms) };
}

const HOUR = 3_600_000;
const DAY_MS = 24 * HOUR;
let dir: ReturnType<typeof tempDir>;
let database: OpenDatabase;

beforeEach(() => {
  dir = tempDir();
  database = openDatabase(`${dir.path}/inbox.db`);
});
afterEach(() => {
  database.close();
  dir.cleanup();
});

function message(updateId: number, chatId: number, text = "x") {
  const update = { update_id: updateId, message: { message_id: updateId, chat: { id: chatId, type: "private" }, from: { id: chatId, first_name: "U" }, date: 1, text } };
  return { update, raw: JSON.stringify(update) };
}

test("group commit: every store of one event-loop turn shares one transaction, resolved after it", async () => {
  const inbox = new Inbox(database.db, manualClock());
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => inbox.store(message(i + 1, 10 + (i % 5)))));
  expect(inbox.commits).toBe(1);
  expect(results.every((r) => !r.duplicate)).toBe(true);
  expect(inbox.counts().received).toBe(50);
  await inbox.store(message(100, 1));
  expect(inbox.commits).toBe(2);
});

test("dedup: the same update_id, in one batch or later, is reported duplicate and stored once", async () => {
  const inbox = new Inbox(database.db, manualClock());
  const seen: number[] = [];
  inbox.onStored((stored) => seen.push(...stored.map((s) => s.updateId)));
  const [a, b] = await Promise.all([inbox.store(message(7, 1, "first")), inbox.store(message(7, 1, "second"))]);
  expect([a!.duplicate, b!.duplicate]).toEqual([false, true]);
  expect((await inbox.store(message(7, 1, "third"))).duplicate).toBe(true);
  expect(seen).toEqual([7]);
  expect(inbox.get(7)?.update.message).toMatchObject({ text: "first" });
});

test("the chat is the chat's id, or the user's id for updates without a chat", () => {
  const inbox = new Inbox(database.db, manualClock());
  const callback = { update_id: 1, callback_query: { id: "q", from: { id: 99, first_name: "C" }, message: { message_id: 3, chat: { id: -500, type: "group" } } } };
  const inline = { update_id: 2, inline_query: { id: "i", from: { id: 98, first_name: "I" }, query: "q", offset: "" } };
  const poll = { update_id: 3, poll: { id: "p", question: "?", options: [] } };
  inbox.storeMany([callback, inline, poll].map((update) => ({ update, raw: JSON.stringify(update) })));
  expect(inbox.row(1)).toMatchObject({ chatId: -500, userId: 99, kind: "callback_query" });
  expect(inbox.row(2)).toMatchObject({ chatId: 98, userId: 98, kind: "inline_query" });
  expect(inbox.row(3)).toMatchObject({ chatId: null, userId: null, kind: "poll" });
});

test("pruning: done payloads go after an hour, dedup keys stay 48 h, failed rows stay a week", async () => {
  const clock = manualClock();
  const inbox = new Inbox(database.db, clock);
  inbox.storeMany([message(1, 1), message(2, 1), message(3, 1), message(4, 1)]);
  inbox.setStatus([1, 2], "done");
  inbox.setStatus(3, "failed", "boom");

  clock.advance(HOUR + 1);
  expect(inbox.prune()).toEqual({ payloadsDropped: 2, rowsDeleted: 0 });
  expect(inbox.hasPayload(1)).toBe(false);
  expect(inbox.hasPayload(3)).toBe(true); // failed: kept for retry
  expect(inbox.hasPayload(4)).toBe(true); // not processed yet
  // Still a dedup key: storing it again is a duplicate.
  expect((await inbox.store(message(1, 1))).duplicate).toBe(true);

  clock.advance(46 * HOUR); // 47 h after receipt
  expect(inbox.prune().rowsDeleted).toBe(0);
  expect((await inbox.store(message(2, 1))).duplicate).toBe(true);

  clock.advance(HOUR); // just past 48 h
  expect(inbox.prune().rowsDeleted).toBe(2);
  expect(inbox.row(1)).toBeUndefined();
  expect(inbox.row(3)?.status).toBe("failed");

  clock.advance(6 * 24 * HOUR);
  expect(inbox.prune().rowsDeleted).toBe(1);
  expect(inbox.row(3)).toBeUndefined();
  expect(inbox.row(4)?.status).toBe("received"); // never pruned before it is handled
});

test("retry puts a failed update back to received; other states are refused", () => {
  const inbox = new Inbox(database.db, manualClock());
  inbox.storeMany([message(1, 1), message(2, 1)]);
  inbox.setStatus(1, "failed", "boom");
  expect(inbox.retry(2)).toBe("not_failed");
  expect(inbox.retry(3)).toBe("not_found");
  const stored = inbox.retry(1) as StoredUpdate;
  expect(stored.updateId).toBe(1);
  expect(inbox.row(1)?.status).toBe("received");
});

test("dispatcher: per-chat order, a bounded number of chats at once, a failing handler never blocks", async () => {
  const inbox = new Inbox(database.db, manualClock());
  const handled = new Map<number, number[]>();
  let inFlight = 0;
  let maxInFlight = 0;
  const dispatcher = new Dispatcher(
    inbox,
    async (update) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await Bun.sleep(1 + (update.updateId % 3));
      inFlight--;
      const chat = update.chatId!;
      handled.set(chat, [...(handled.get(chat) ?? []), update.updateId]);
      if (update.updateId % 10 === 0) throw new Error(`handler failed on ${update.updateId}`);
      inbox.setStatus(update.updateId, "done");
    },
    3,
    silentLogger,
  );
  dispatcher.start();
  // Interleaved chats, stored out of order within one batch.
  const batch = Array.from({ length: 60 }, (_, i) => message(60 - i, 100 + ((60 - i) % 6)));
  inbox.storeMany(batch);
  await dispatcher.whenIdle();
  expect(maxInFlight).toBeLessThanOrEqual(3);
  expect(maxInFlight).toBeGreaterThan(1);
  for (const [chat, ids] of handled) {
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(ids.length).toBe(10);
    expect(chat).toBeGreaterThanOrEqual(100);
  }
  const counts = inbox.counts();
  expect(counts.failed).toBe(6);
  expect(counts.done).toBe(54);
  expect(inbox.row(10)?.error).toBe("handler failed on 10");
});

test("dispatcher: on start it picks up updates a previous process left received", async () => {
  const inbox = new Inbox(database.db, manualClock());
  inbox.storeMany([message(5, 1), message(6, 2), message(7, 1)]);
  inbox.setStatus(6, "done");
  const handled: number[] = [];
  const dispatcher = new Dispatcher(inbox, (u) => void handled.push(u.updateId), 4, silentLogger);
  dispatcher.start();
  await dispatcher.whenIdle();
  expect(handled).toEqual([5, 7]);
});

test("dispatcher: once stopped, new updates stay received for the next start instead of piling up in memory", async () => {
  const inbox = new Inbox(database.db, manualClock());
  const handled: number[] = [];
  const handle = (u: StoredUpdate) => {
    handled.push(u.updateId);
    inbox.setStatus(u.updateId, "done");
  };
  const first = new Dispatcher(inbox, handle, 4, silentLogger);
  first.start();
  inbox.storeMany([message(1, 1)]);
  await first.whenIdle();
  await first.stop();
  inbox.storeMany([message(2, 1), message(3, 2)]);
  await first.whenIdle();
  expect(handled).toEqual([1]);
  expect(inbox.loadReceived(10).map((u) => u.updateId)).toEqual([2, 3]);
  const next = new Dispatcher(inbox, handle, 4, silentLogger);
  next.start();
  await next.whenIdle();
  expect(handled).toEqual([1, 2, 3]);
});

// A dead letter stays 7 days after it failed: one that fails late (a retry from the admin API, a
// question timing out a day later) is not deleted at the next janitor pass.
test("a failed update retried from the admin API and failing again stays a dead letter for 7 days after it failed", () => {
  const clock = manualClock();
  const inbox = new Inbox(database.db, clock);
  inbox.storeMany([message(1, 1)]);
  inbox.setStatus(1, "failed", "boom");

  // Six and a half days later the operator deploys a fix and retries; the agent fails again.
  clock.advance(6.5 * DAY_MS);
  expect(inbox.retry(1)).not.toBe("not_failed");
  inbox.setStatus(1, "failed", "boom again");

  // One day after that second failure (well inside 7 days), the janitor runs.
  clock.advance(DAY_MS);
  inbox.prune();
  const row = inbox.row(1);
  expect(row?.status).toBe("failed");
});

test("an update whose question timed out after a day stays failed for 7 days after the timeout", () => {
  const clock = manualClock();
  const inbox = new Inbox(database.db, clock);
  inbox.storeMany([message(2, 2)]);
  // The run it started waits on ask (the trigger stays `processing`) until ASK_TIMEOUT_SECONDS (86400 by default)...
  inbox.setStatus(2, "processing");
  clock.advance(DAY_MS);
  // ... then the question times out: the update is failed.
  inbox.setStatus(2, "failed", "the question timed out");

  // 6.5 days after it failed (7.5 days after it arrived) the dead letter is still kept.
  clock.advance(6.5 * DAY_MS);
  inbox.prune();
  expect(inbox.row(2)?.status).toBe("failed");
});

// A dead letter (GET /admin/updates?status=failed) stays 7 days after it failed: an update that
// fails late (a retry from the admin API, a question that timed out a day later) is not deleted at
// the next janitor pass (its age was counted from when it was received).
import { afterEach, beforeEach, expect, test } from "bun:test";
import type { Clock } from "../../src/clock.ts";
import { openDatabase, type OpenDatabase } from "../../src/db/index.ts";
import { Inbox } from "../../src/ingest/inbox.ts";
import { tempDir } from "../helpers.ts";

function manualClock(start = 1_700_000_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, setTimeout: () => ({ cancel() {} }), advance: (ms) => (now += ms) };
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
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

test("a failed update retried from the admin API and failing again stays a dead letter for 7 days after it failed", () => {
  const clock = manualClock();
  const inbox = new Inbox(database.db, clock);
  inbox.storeMany([message(1, 1)]);
  inbox.setStatus(1, "failed", "boom");

  // Six and a half days later the operator deploys a fix and retries; the agent fails again.
  clock.advance(6.5 * DAY);
  expect(inbox.retry(1)).not.toBe("not_failed");
  inbox.setStatus(1, "failed", "boom again");

  // One day after that second failure (well inside 7 days), the janitor runs.
  clock.advance(DAY);
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
  clock.advance(DAY);
  // ... then the question times out: the update is failed.
  inbox.setStatus(2, "failed", "the question timed out");

  // 6.5 days after it failed (7.5 days after it arrived) the dead letter is gone already.
  clock.advance(6.5 * DAY);
  inbox.prune();
  expect(inbox.row(2)?.status).toBe("failed");
});

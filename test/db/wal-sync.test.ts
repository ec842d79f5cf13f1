import { afterEach, beforeEach, expect, test } from "bun:test";
import { fdatasync } from "node:fs";
import { systemClock } from "../../src/clock.ts";
import { openDatabase, type OpenDatabase } from "../../src/db/index.ts";
import { WalSync } from "../../src/db/wal-sync.ts";
import { DEFAULT_RETENTION, Inbox } from "../../src/ingest/inbox.ts";
import { tempDir } from "../helpers.ts";

let dir: ReturnType<typeof tempDir>;
let database: OpenDatabase;

beforeEach(() => {
  dir = tempDir();
  database = openDatabase(`${dir.path}/wal.db`);
});
afterEach(() => {
  database.close();
  dir.cleanup();
});

/** A real fdatasync whose completions the test releases by hand, counting the calls. */
function heldDatasync() {
  const held: (() => void)[] = [];
  let failNext: Error | undefined;
  return {
    calls: 0,
    held,
    failNext(error: Error) {
      failNext = error;
    },
    datasync(this: { calls: number }, fd: number, done: (error: Error | null) => void) {
      this.calls++;
      const error = failNext;
      failNext = undefined;
      fdatasync(fd, (real) => held.push(() => done(error ?? real)));
    },
    async releaseAll() {
      while (held.length === 0) await Bun.sleep(1);
      for (const release of held.splice(0)) release();
    },
  };
}

function message(updateId: number) {
  const update = { update_id: updateId, message: { message_id: 1, chat: { id: 5, type: "private" }, from: { id: 5, first_name: "U" }, date: 1, text: "x" } };
  return { update, raw: JSON.stringify(update) };
}

test("each sync is an fdatasync of the WAL; settle waits for those in flight", async () => {
  const fake = heldDatasync();
  const wal = new WalSync(`${dir.path}/wal.db-wal`, fake.datasync.bind(fake));
  const syncs = [wal.sync(), wal.sync()];
  let settled = false;
  const settling = wal.settle().then(() => (settled = true));
  while (fake.held.length < 2) await Bun.sleep(1);
  expect(fake.calls).toBe(2);
  expect(settled).toBe(false);
  await fake.releaseAll();
  await Promise.all(syncs);
  await settling;
  expect(settled).toBe(true);
  wal.close();
});

/** An inbox whose WAL syncs the test releases by hand, with the update ids it announced. */
function inboxOnHeldSyncs() {
  const fake = heldDatasync();
  const wal = new WalSync(`${dir.path}/wal.db-wal`, fake.datasync.bind(fake));
  const inbox = new Inbox(database.db, systemClock, DEFAULT_RETENTION, wal);
  const announced: number[] = [];
  inbox.onStored((stored) => announced.push(...stored.map((s) => s.updateId)));
  return { fake, wal, inbox, announced };
}

test("a store is answered, and announced to the runtime, only after the WAL sync", async () => {
  const { fake, wal, inbox, announced } = inboxOnHeldSyncs();
  let answered = false;
  const stored = inbox.store(message(1)).then((result) => {
    answered = true;
    return result;
  });
  while (fake.calls === 0) await Bun.sleep(1);
  // Committed (a retry would be a duplicate) but neither answered nor handed on yet.
  expect(inbox.row(1)?.status).toBe("received");
  await Bun.sleep(20);
  expect(answered).toBe(false);
  expect(announced).toEqual([]);
  await fake.releaseAll();
  expect(await stored).toEqual({ duplicate: false });
  await inbox.settle();
  expect(announced).toEqual([1]);
  wal.close();
});

test("updates handed in while a sync runs wait for it, then share one commit and one sync", async () => {
  const { fake, wal, inbox } = inboxOnHeldSyncs();
  const first = inbox.store(message(10));
  while (fake.calls === 0) await Bun.sleep(1);
  const later: Promise<unknown>[] = [];
  for (let id = 11; id <= 20; id++) {
    later.push(inbox.store(message(id)));
    await new Promise((resolve) => setImmediate(resolve)); // separate event-loop turns
  }
  expect(inbox.commits).toBe(1);
  expect(inbox.row(11)).toBeUndefined(); // not committed while the first fsync runs
  await fake.releaseAll();
  await first;
  while (fake.calls === 1) await Bun.sleep(1);
  expect(inbox.commits).toBe(2);
  expect(inbox.row(20)?.status).toBe("received");
  await fake.releaseAll();
  await Promise.all(later);
  expect(fake.calls).toBe(2);
  wal.close();
});

test("a failed sync refuses the store, yet the committed update is still processed once", async () => {
  const { fake, wal, inbox, announced } = inboxOnHeldSyncs();
  fake.failNext(new Error("EIO: i/o error, fdatasync"));
  const stored = inbox.store(message(2));
  await fake.releaseAll();
  await expect(stored).rejects.toThrow("EIO");
  await inbox.settle();
  expect(announced).toEqual([2]);
  // Telegram retries the refused request: a duplicate, answered 200, not processed again.
  const retry = inbox.store(message(2));
  await fake.releaseAll();
  expect(await retry).toEqual({ duplicate: true });
  expect(announced).toEqual([2]);
  wal.close();
});

test("a real database: the inbox opens its WAL and stores through it", async () => {
  const inbox = new Inbox(database.db, systemClock);
  expect(await inbox.store(message(3))).toEqual({ duplicate: false });
  await inbox.settle();
  expect(inbox.row(3)?.status).toBe("received");
});

import { afterEach, beforeEach, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { BatchedTransactions } from "../../src/db/batched-transactions.ts";
import { sqliteDurableCommit } from "../../src/db/durable-commit.ts";
import { done } from "../../src/db/op.ts";
import { isTransientStorageError } from "../../src/db/storage-error.ts";
import { TurnCommit, turnCommitFor } from "../../src/db/turn-commit.ts";
import { closeWalSync, WalSync } from "../../src/db/wal-sync.ts";
import { tempDir } from "../helpers.ts";

let dir: ReturnType<typeof tempDir>;
let sqlite: Database;

beforeEach(() => {
  dir = tempDir();
  sqlite = new Database(`${dir.path}/turn.db`, { create: true, strict: true });
  sqlite.exec("PRAGMA journal_mode = WAL");
  sqlite.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)");
});
afterEach(() => {
  closeWalSync(sqlite);
  sqlite.close();
  dir.cleanup();
});

const insert = (id: number, text = `note ${id}`) => done(sqlite.prepare("INSERT INTO notes (id, text) VALUES (?, ?)").run(id, text));
const ids = () => sqlite.query<{ id: number }, []>("SELECT id FROM notes ORDER BY id").all().map((r) => r.id);

/** A WalSync whose fdatasyncs are counted. */
function countedWalSync() {
  const counted = { calls: 0 };
  const wal = new WalSync(`${dir.path}/turn.db-wal`, (_fd, done) => {
    counted.calls++;
    done(null);
  });
  return { wal, counted };
}

test("the routing's writes, the outbox's durable commit and the webhook's writes of one turn share one commit", async () => {
  const turn = turnCommitFor(sqlite);
  const routing = new BatchedTransactions(sqlite);
  const outbox = sqliteDurableCommit(sqlite, () => {});
  const before = turn.commits;
  const written = [routing.run(() => insert(1)), outbox.commit(() => insert(2)), turn.run(() => insert(3)).then((c) => c.value), routing.run(() => insert(4))];
  expect(ids()).toEqual([]); // nothing is written before the turn ends
  await Promise.all(written);
  expect(turn.commits - before).toBe(1);
  expect(routing.commits).toBe(1);
  expect(ids()).toEqual([1, 2, 3, 4]);
  expect(sqlite.inTransaction).toBe(false);
});

test("`now` commits at once with everything pending, so a write handed in earlier in the turn rides along", async () => {
  const turn = new TurnCommit(sqlite, undefined);
  const earlier = turn.run(() => insert(1));
  const atOnce = turn.run(() => insert(2), { now: true });
  expect(ids()).toEqual([1, 2]); // committed synchronously, before any await
  expect((await earlier).commit).toBe((await atOnce).commit);
  expect(turn.commits).toBe(1);
});

test("only a write that asks for the sync waits for one fdatasync, shared by every write that asked", async () => {
  const { wal, counted } = countedWalSync();
  const turn = new TurnCommit(sqlite, wal);
  const [relaxed, durableA, durableB] = await Promise.all([
    turn.run(() => insert(1)),
    turn.run(() => insert(2), { needsSync: () => true }),
    turn.run(() => insert(3), { needsSync: () => true }),
  ]);
  expect(counted.calls).toBe(1);
  expect(durableA!.synced).toBe(durableB!.synced);
  expect(relaxed!.synced).not.toBe(durableA!.synced);
  await durableA!.synced;

  // The webhook's write names the WAL itself (its WalSync); the outbox's takes the connection's: one fdatasync.
  await Promise.all([turn.run(() => insert(5), { needsSync: () => true, walSync: wal }), turn.run(() => insert(6), { needsSync: () => true })]);
  expect(counted.calls).toBe(2);

  // A write naming another WAL sync gets its own.
  const other = countedWalSync();
  await Promise.all([turn.run(() => insert(7), { needsSync: () => true, walSync: other.wal }), turn.run(() => insert(8), { needsSync: () => true })]);
  expect([counted.calls, other.counted.calls]).toEqual([3, 1]);
  other.wal.close();

  // Nobody asked (a tick that wrote nothing): no fdatasync at all.
  await turn.run(() => insert(4), { needsSync: () => false });
  expect(counted.calls).toBe(3);
  wal.close();
});

test("a write that throws has only its own changes undone; the others commit", async () => {
  const turn = new TurnCommit(sqlite, undefined);
  const results = await Promise.allSettled([
    turn.run(() => insert(1)),
    turn.run(function* () {
      insert(2);
      throw new Error("changed its mind");
    }),
    turn.run(() => insert(3)),
  ]);
  expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  expect(ids()).toEqual([1, 3]);
});

test("the database failing fails every write of the commit with the database's own error, and tells each who asked", async () => {
  insert(0);
  const pages = sqlite.query<{ page_count: number }, []>("PRAGMA page_count").get()!.page_count;
  sqlite.exec(`PRAGMA max_page_count = ${pages}`);
  const turn = new TurnCommit(sqlite, undefined);
  const told: unknown[] = [];
  const results = await Promise.allSettled([
    turn.run(() => insert(1), { onCommitFailed: (error) => told.push(error) }),
    turn.run(() => insert(2, "x".repeat(100_000))),
    turn.run(() => insert(3), { onCommitFailed: (error) => told.push(error) }),
  ]);
  // The callers' retry logic recognises the database's error (not a wrapper of it).
  expect(results.every((r) => r.status === "rejected" && isTransientStorageError(r.reason))).toBe(true);
  expect(told.length).toBe(2);
  expect(ids()).toEqual([0]);
  expect(sqlite.inTransaction).toBe(false);

  sqlite.exec("PRAGMA max_page_count = 1073741823");
  await turn.run(() => insert(4));
  expect(ids()).toEqual([0, 4]);
});

test("a write handed in just before the database closes fails, and a failure hook that throws too stays inside", async () => {
  const other = new Database(`${dir.path}/closing.db`, { create: true, strict: true });
  other.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY)");
  const turn = new TurnCommit(other, undefined);
  const told: unknown[] = [];
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => void uncaught.push(error);
  process.on("uncaughtException", onUncaught);
  try {
    // Both hooks run (the first throws, as one reading the closed database does); both writes reject.
    const results = Promise.allSettled([
      turn.run(() => done(other.prepare("INSERT INTO notes (id) VALUES (1)").run()), {
        onCommitFailed: () => {
          throw new Error("the hook's own read failed");
        },
      }),
      turn.run(() => done(other.prepare("INSERT INTO notes (id) VALUES (2)").run()), { onCommitFailed: (error) => told.push(error) }),
    ]);
    other.close();
    expect((await results).map((r) => r.status)).toEqual(["rejected", "rejected"]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(told).toHaveLength(1);
    expect(uncaught).toEqual([]);
  } finally {
    process.off("uncaughtException", onUncaught);
  }
});

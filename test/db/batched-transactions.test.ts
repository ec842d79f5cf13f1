import { afterEach, beforeEach, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { BatchedTransactions } from "../../src/db/batched-transactions.ts";
import { done } from "../../src/db/op.ts";
import { isTransientStorageError } from "../../src/db/storage-error.ts";
import { tempDir } from "../helpers.ts";

let dir: ReturnType<typeof tempDir>;
let sqlite: Database;
let batched: BatchedTransactions;

beforeEach(() => {
  dir = tempDir();
  sqlite = new Database(`${dir.path}/batched.db`, { create: true, strict: true });
  sqlite.exec("PRAGMA journal_mode = WAL");
  sqlite.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)");
  batched = new BatchedTransactions(sqlite);
});
afterEach(() => {
  sqlite.close();
  dir.cleanup();
});

// Each write is an Op of the synchronous store (db/op.ts), as the runtime's are.
const insert = (id: number, text = `note ${id}`) => done(sqlite.prepare("INSERT INTO notes (id, text) VALUES (?, ?)").run(id, text));
const ids = () => sqlite.query<{ id: number }, []>("SELECT id FROM notes ORDER BY id").all().map((r) => r.id);

test("writes handed in during one turn share one commit and resolve, in order, after it", async () => {
  const order: number[] = [];
  const written = Array.from({ length: 10 }, (_, i) =>
    batched.run(function* () {
      insert(i);
      return i;
    }).then((value) => order.push(value)),
  );
  expect(ids()).toEqual([]); // nothing runs before the turn ends
  await Promise.all(written);
  expect(batched.commits).toBe(1);
  expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  expect(ids()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  expect(sqlite.inTransaction).toBe(false);

  await batched.run(() => insert(10));
  expect(batched.commits).toBe(2);
});

test("a write that throws has only its own changes undone", async () => {
  const results = await Promise.allSettled([
    batched.run(() => insert(1)),
    batched.run(function* () {
      insert(2);
      throw new Error("changed its mind");
    }),
    batched.run(() => insert(3)),
  ]);
  expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  expect((results[1] as PromiseRejectedResult).reason.message).toBe("changed its mind");
  expect(ids()).toEqual([1, 3]);
  expect(batched.commits).toBe(1);
});

test("a lone write that throws commits nothing", async () => {
  await expect(
    batched.run(function* () {
      insert(1);
      throw new Error("no");
    }),
  ).rejects.toThrow("no");
  expect(ids()).toEqual([]);
  expect(sqlite.inTransaction).toBe(false);
});

test("the database failing (full) fails the whole batch, with nothing committed; later batches work again", async () => {
  insert(0);
  const pages = sqlite.query<{ page_count: number }, []>("PRAGMA page_count").get()!.page_count;
  sqlite.exec(`PRAGMA max_page_count = ${pages}`);
  const results = await Promise.allSettled([batched.run(() => insert(1)), batched.run(() => insert(2, "x".repeat(100_000))), batched.run(() => insert(3))]);
  expect(results.every((r) => r.status === "rejected" && isTransientStorageError(r.reason))).toBe(true);
  expect(ids()).toEqual([0]);
  expect(sqlite.inTransaction).toBe(false);

  sqlite.exec("PRAGMA max_page_count = 1000000");
  await Promise.all([batched.run(() => insert(1)), batched.run(() => insert(2))]);
  expect(ids()).toEqual([0, 1, 2]);
});

// Shared commits on both engines (src/db/batched-transactions.ts, src/db/pg/batched-transactions.ts):
// operations handed in during one turn share one commit, each undone alone when it throws.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { BatchedTransactions } from "../../src/db/batched-transactions.ts";
import { awaited, done, type Op } from "../../src/db/op.ts";
import { PgBatchedTransactions } from "../../src/db/pg/batched-transactions.ts";
import { ENGINES, openEngine, type Engine } from "./engines.ts";

for (const engineName of ENGINES) {
  describe(`shared commits on ${engineName}`, () => {
    let engine: Engine;
    let batched: BatchedTransactions | PgBatchedTransactions;
    let insert: (id: number) => Op<unknown>;
    beforeAll(async () => {
      engine = await openEngine(engineName, "batched");
      if (engine.sqlite) {
        const { sqlite } = engine.sqlite;
        sqlite.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY)");
        const statement = sqlite.prepare("INSERT INTO notes (id) VALUES (?)");
        insert = (id) => done(statement.run(id));
        batched = new BatchedTransactions(sqlite);
      } else {
        const { session, open } = engine.postgres!;
        await open.sql`CREATE TABLE notes (id bigint PRIMARY KEY)`;
        insert = function* (id) {
          return yield* awaited(session.client`INSERT INTO notes (id) VALUES (${id})`);
        };
        batched = new PgBatchedTransactions(session);
      }
    });
    beforeEach(() => engine.query("DELETE FROM notes"));
    afterAll(() => engine.close());

    const ids = async () => (await engine.query<{ id: number }>("SELECT id FROM notes ORDER BY id")).map((r) => Number(r.id));

    test("operations handed in during one turn share one commit and resolve, in order, after it", async () => {
      const commitsBefore = batched.commits;
      const order: number[] = [];
      const written = Array.from({ length: 10 }, (_, i) =>
        batched
          .run(function* () {
            yield* insert(i);
            return i;
          })
          .then((value) => order.push(value)),
      );
      await Promise.all(written);
      expect(batched.commits - commitsBefore).toBe(1);
      expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(await ids()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    test("an operation that throws has only its own writes undone", async () => {
      const results = await Promise.allSettled([
        batched.run(() => insert(1)),
        batched.run(function* () {
          yield* insert(2);
          throw new Error("changed its mind");
        }),
        batched.run(() => insert(3)),
      ]);
      expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
      expect((results[1] as PromiseRejectedResult).reason.message).toBe("changed its mind");
      expect(await ids()).toEqual([1, 3]);
    });

    test("a write the database refuses (a duplicate key) fails only its own operation", async () => {
      const results = await Promise.allSettled([batched.run(() => insert(5)), batched.run(() => insert(5)), batched.run(() => insert(6))]);
      expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
      expect(await ids()).toEqual([5, 6]);
    });

    test("a lone operation that throws commits nothing", async () => {
      await expect(
        batched.run(function* () {
          yield* insert(1);
          throw new Error("no");
        }),
      ).rejects.toThrow("no");
      expect(await ids()).toEqual([]);
    });

    // On PostgreSQL a row's xmin is the id of the (sub)transaction that wrote it: one per savepoint.
    const writers = async () => new Set((await engine.query<{ xmin: string }>("SELECT xmin::text AS xmin FROM notes")).map((r) => r.xmin)).size;

    // PostgreSQL only: SQLite's savepoints leave no trace in the rows.
    if (engineName === "postgres")
      test("a batch whose operations all succeed sends no savepoint; after one throws, each runs in its own", async () => {
        await Promise.all([1, 2, 3].map((id) => batched.run(() => insert(id))));
        expect(await writers()).toBe(1);
        await engine.query("DELETE FROM notes");
        await Promise.allSettled([batched.run(() => insert(1)), batched.run(() => insert(1)), batched.run(() => insert(2))]);
        expect(await ids()).toEqual([1, 2]);
        expect(await writers()).toBe(2);
      });
  });
}

import { afterAll, expect, test } from "bun:test";
import { openDatabase } from "../../src/db/index.ts";
import { copySqliteToPostgres, TargetNotEmptyError } from "../../src/db/pg/copy-from-sqlite.ts";
import { openPostgres } from "../../src/db/pg/index.ts";
import { tempDir } from "../helpers.ts";
import { freshDatabase } from "../pg/cluster.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

const count = async (pg: Awaited<ReturnType<typeof openPostgres>>, table: string) => [...(await pg.sql.unsafe<{ n: number }[]>(`SELECT count(*) AS n FROM "${table}"`))][0]!.n;

test("a table bigger than one INSERT arrives whole; ids go on after the highest SQLite ever gave, deleted rows included", async () => {
  const sqlite = openDatabase(`${dir.path}/big.db`);
  const insertUpdate = sqlite.sqlite.prepare("INSERT INTO updates (update_id, chat_id, kind, payload, status, received_at, updated_at) VALUES (?, ?, 'message', ?, 'done', ?, ?)");
  const insertOutbox = sqlite.sqlite.prepare("INSERT INTO outbox (chat_id, text, next_attempt_at, created_at, updated_at) VALUES (?, ?, 0, 0, 0)");
  sqlite.sqlite.transaction(() => {
    for (let i = 1; i <= 7_000; i++) insertUpdate.run(i, i % 50, JSON.stringify({ update_id: i, text: "x".repeat(i % 300) }), i, i);
    for (let i = 1; i <= 40; i++) insertOutbox.run(i, `reply ${i}`);
  })();
  // Pruned messages: SQLite's AUTOINCREMENT never gives their ids again, and neither may PostgreSQL.
  sqlite.sqlite.exec("DELETE FROM outbox WHERE id > 30");
  const pg = await openPostgres(await freshDatabase("copy_big"));
  try {
    const copied = await copySqliteToPostgres(sqlite.sqlite, pg.sql);
    expect(copied.find((t) => t.name === "updates")).toEqual({ name: "updates", rows: 7_000 });
    expect(copied.find((t) => t.name === "outbox")).toEqual({ name: "outbox", rows: 30 });
    expect(await count(pg, "updates")).toBe(7_000);
    expect([...(await pg.sql`SELECT payload FROM updates WHERE update_id = 6999`)]).toEqual([{ payload: JSON.stringify({ update_id: 6999, text: "x".repeat(6999 % 300) }) }]);
    const [next] = await pg.sql`INSERT INTO outbox (chat_id, text, next_attempt_at, created_at, updated_at) VALUES (1, 'after', 0, 0, 0) RETURNING id`;
    expect(next!.id).toBe(41);
  } finally {
    await pg.close();
    sqlite.close();
  }
});

test("a row PostgreSQL refuses rolls the whole copy back: the target stays empty", async () => {
  const sqlite = openDatabase(`${dir.path}/bad.db`);
  sqlite.sqlite.exec("INSERT INTO settings (key, value) VALUES ('webhook_secret', 'abc')");
  // SQLite keeps what it is given: a text where the schema says integer, which PostgreSQL's bigint refuses.
  sqlite.sqlite.exec("INSERT INTO updates (update_id, chat_id, kind, received_at, updated_at) VALUES (1, 'not a number', 'message', 0, 0)");
  const pg = await openPostgres(await freshDatabase("copy_rollback"));
  try {
    await expect(copySqliteToPostgres(sqlite.sqlite, pg.sql)).rejects.toThrow(/invalid input syntax for type bigint/);
    expect(await count(pg, "settings")).toBe(0);
    expect(await count(pg, "updates")).toBe(0);
  } finally {
    await pg.close();
    sqlite.close();
  }
});

test("a target with a row in any table, leases included, is refused before anything is written", async () => {
  const sqlite = openDatabase(`${dir.path}/refused.db`);
  sqlite.sqlite.exec("INSERT INTO settings (key, value) VALUES ('a', 'b')");
  const pg = await openPostgres(await freshDatabase("copy_refused"));
  try {
    await pg.sql`INSERT INTO leases (name, holder, token, expires_at) VALUES ('poller', 'i-1', 1, 0)`;
    const error = await copySqliteToPostgres(sqlite.sqlite, pg.sql).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TargetNotEmptyError);
    expect((error as TargetNotEmptyError).tables).toEqual([{ name: "leases", rows: 1 }]);
    expect(await count(pg, "settings")).toBe(0);
  } finally {
    await pg.close();
    sqlite.close();
  }
});

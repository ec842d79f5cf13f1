/**
 * `timbre migrate-to-postgres` for real: a sandbox timbre (a child process) serves a SQLite file,
 * people talk to the coach (one conversation left waiting on a question), the service stops, the
 * command copies the file into PostgreSQL, and every table's rows are compared.
 */
import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { is } from "drizzle-orm";
import { getTableConfig, SQLiteTable } from "drizzle-orm/sqlite-core";
import { coachText } from "../../src/agents/coach.ts";
import { tablesToCopy } from "../../src/db/pg/copy-from-sqlite.ts";
import { openPostgres } from "../../src/db/pg/index.ts";
import * as sqliteSchema from "../../src/db/schema.ts";
import { runToExit, spawnService, tempDir, waitFor, type SpawnedService } from "../helpers.ts";
import { freshDatabase } from "../pg/cluster.ts";

const dir = tempDir();
const children: SpawnedService[] = [];
afterAll(async () => {
  for (const child of children) if (child.proc.exitCode === null) await child.kill9();
  dir.cleanup();
});

const dbPath = `${dir.path}/timbre.db`;
const en = coachText.en;

async function say(child: SpawnedService, user: { id: number; first_name: string; language_code: string }, text: string, botCount: number): Promise<string> {
  const response = await fetch(`${child.url}/sandbox/send`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user, text }) });
  expect(response.status).toBe(200);
  return waitFor(async () => {
    const history = (await (await fetch(`${child.url}/sandbox/history`)).json()) as { chats: { chat_id: number; messages: { side: string; text: string }[] }[] };
    const bot = history.chats.find((c) => c.chat_id === user.id)?.messages.filter((m) => m.side === "bot") ?? [];
    return bot[botCount - 1]?.text;
  }, `the bot's message ${botCount} to ${user.first_name} after "${text}"`);
}

const migrate = (env: Record<string, string>) => runToExit({ DATABASE_PATH: dbPath, ...env }, [process.execPath, "src/main.ts", "migrate-to-postgres"]);

/** A row for a table the conversations left empty: every column filled, integers and text alike. */
function syntheticRow(table: SQLiteTable): Record<string, unknown> {
  const columns = getTableConfig(table).columns;
  return Object.fromEntries(columns.map((c, i) => [c.name, c.getSQLType() === "integer" ? 900_000 + i : `synthetic ${c.name}`]));
}

function readSqlite(table: { name: string; columns: string[] }): Record<string, unknown>[] {
  const sqlite = new Database(dbPath, { readonly: true });
  try {
    return sqlite.query<Record<string, unknown>, []>(`SELECT ${table.columns.map((c) => `"${c}"`).join(", ")} FROM "${table.name}"`).all();
  } finally {
    sqlite.close();
  }
}

const sorted = (rows: Record<string, unknown>[]) => rows.map((r) => JSON.stringify(r)).sort();

test("the copy covers every table of the SQLite schema, and every table a migrated SQLite file has", () => {
  const fromSchema = (Object.values(sqliteSchema) as unknown[]).filter((v): v is SQLiteTable => is(v, SQLiteTable)).map((t) => getTableConfig(t).name);
  const copied = tablesToCopy().map((t) => t.name);
  expect(copied.sort()).toEqual(fromSchema.sort());
  const empty = new Database(`${dir.path}/empty.db`);
  empty.close();
  // Opening through timbre migrates the file; its tables, bar SQLite's and drizzle's bookkeeping, are the copy's.
  const opened = Bun.spawnSync([process.execPath, "-e", `import { openDatabase } from "./src/db/index.ts"; openDatabase(${JSON.stringify(`${dir.path}/empty.db`)}).close();`]);
  expect(opened.exitCode, opened.stderr.toString()).toBe(0);
  const file = new Database(`${dir.path}/empty.db`, { readonly: true });
  const inFile = file
    .query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '__drizzle_migrations' ORDER BY name")
    .all()
    .map((r) => r.name);
  file.close();
  expect(inFile).toEqual(copied.sort());
});

test("a bot served from SQLite moves to PostgreSQL with every row of every table, its waiting conversation included", async () => {
  const url = await freshDatabase("migrate_to_postgres");
  const service = await spawnService({ DATABASE_PATH: dbPath, PORT: "0", HOST: "127.0.0.1", AGENT: "coach", SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });
  children.push(service);
  const ana = { id: 71_001, first_name: "Ana", language_code: "en" };
  const bob = { id: 71_002, first_name: "Bob", language_code: "en" };
  expect(await say(service, ana, "hi", 1)).toBe(en.goal);
  expect(await say(service, ana, "run a 10k", 2)).toBe(en.days);
  expect(await say(service, ana, "3", 3)).toBe(en.level);
  expect(await say(service, ana, "beginner", 4)).toContain("run a 10k");
  expect(await say(service, bob, "/start", 1)).toBe(en.welcome);
  expect(await say(service, bob, "hello", 2)).toBe(en.goal);
  expect(await say(service, bob, "get stronger", 3)).toBe(en.days);

  // While the service holds the SQLite file the copy refuses, and leaves PostgreSQL untouched.
  const refused = await migrate({ DATABASE_URL: url });
  expect(refused.code).toBe(1);
  expect(refused.stderr).toBe(`timbre migrate-to-postgres: DATABASE_PATH=${JSON.stringify(dbPath)} is in use by a running timbre (pid ${service.proc.pid}); nothing was copied. Stop it first, so no update arrives during the copy\n`);
  const pg = await openPostgres(url);
  try {
    expect([...(await pg.sql`SELECT count(*) AS n FROM runs`)]).toEqual([{ n: 0 }]);
    expect(await service.terminate()).toBe(0);

    // Tables the conversations left empty get a row, so every table's copy is checked.
    const source = new Database(dbPath);
    for (const table of (Object.values(sqliteSchema) as unknown[]).filter((v): v is SQLiteTable => is(v, SQLiteTable))) {
      const name = getTableConfig(table).name;
      if (source.query(`SELECT 1 FROM "${name}" LIMIT 1`).get() === null) {
        const row = syntheticRow(table);
        source.query(`INSERT INTO "${name}" (${Object.keys(row).map((c) => `"${c}"`).join(", ")}) VALUES (${Object.keys(row).map(() => "?").join(", ")})`).run(...(Object.values(row) as (string | number)[]));
      }
    }
    const waiting = source.query<{ id: number }, []>("SELECT id FROM runs WHERE status = 'waiting'").all();
    const highestRunId = source.query<{ seq: number }, []>("SELECT seq FROM sqlite_sequence WHERE name = 'runs'").get()!.seq;
    source.close();
    expect(waiting).toHaveLength(1);

    const copy = await migrate({ DATABASE_URL: url });
    expect(copy.code, copy.stderr).toBe(0);
    expect(copy.stderr).toMatch(/^timbre migrate-to-postgres: copied \d+ rows in \d+ tables from DATABASE_PATH=".*" to DATABASE_URL="postgres:\/\/timbre:\*\*\*@127\.0\.0\.1:\d+\/migrate_to_postgres_\d+" in one transaction \(\d+ ms\)/);
    const printed = Object.fromEntries(copy.stdout.trim().split("\n").map((line) => line.trim().split(/\s+/)).map(([name, rows]) => [name, Number(rows)]));

    for (const table of tablesToCopy()) {
      const fromSqlite = readSqlite(table);
      expect(fromSqlite.length, `${table.name} has rows to copy`).toBeGreaterThan(0);
      expect({ table: table.name, printed: printed[table.name] }).toEqual({ table: table.name, printed: fromSqlite.length });
      const fromPg = await pg.sql.unsafe<Record<string, unknown>[]>(`SELECT ${table.columns.map((c) => `"${c}"`).join(", ")} FROM "${table.name}"`);
      expect({ table: table.name, rows: sorted([...fromPg]) }).toEqual({ table: table.name, rows: sorted(fromSqlite) });
    }
    expect([...(await pg.sql`SELECT status FROM runs WHERE id = ${waiting[0]!.id}`)]).toEqual([{ status: "waiting" }]);
    expect([...(await pg.sql`SELECT text, state FROM run_steps WHERE run_id = ${waiting[0]!.id} AND state = 'waiting'`)]).toEqual([{ text: en.days, state: "waiting" }]);

    // Ids PostgreSQL gives next go on after SQLite's.
    const [next] = await pg.sql`INSERT INTO runs (conversation, chat_id, agent, status, trigger_update_id, trigger, created_at, updated_at) VALUES ('x', 1, 'coach', 'done', 1, '{}', 0, 0) RETURNING id`;
    expect(next!.id).toBe(highestRunId + 1);

    // A second copy into the now full database is refused, and changes nothing.
    const again = await migrate({ DATABASE_URL: url });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^timbre migrate-to-postgres: DATABASE_URL=".*" already holds rows \(.*runs: \d+.*\); nothing was copied\. Copy into an empty database/);
    expect([...(await pg.sql`SELECT count(*) AS n FROM runs`)]).toEqual([{ n: readSqlite({ name: "runs", columns: ["id"] }).length + 1 }]);
  } finally {
    await pg.close();
  }
});

test("without DATABASE_URL the command says what to set, and exits 2", async () => {
  const result = await migrate({});
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/^timbre migrate-to-postgres: DATABASE_URL is not set: set it to the PostgreSQL database to copy DATABASE_PATH=".*" into/);
});

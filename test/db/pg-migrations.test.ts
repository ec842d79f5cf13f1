import { expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { is } from "drizzle-orm";
import { getTableConfig, PgTable } from "drizzle-orm/pg-core";
import postgres from "postgres";
import { openPostgres } from "../../src/db/pg/index.ts";
import { migrationFiles, migrationJournal } from "../../src/db/pg/migrations.generated.ts";
import * as pgSchema from "../../src/db/pg/schema.ts";
import { PG_MIGRATIONS, renderMigrationsModule } from "../../scripts/embed-migrations.ts";
import { ROOT, tempDir } from "../helpers.ts";
import { freshDatabase } from "../pg/cluster.ts";

const schemaTables = (Object.values(pgSchema) as unknown[])
  .filter((v): v is PgTable => is(v, PgTable))
  .map((t) => getTableConfig(t).name)
  .sort();

async function publicTables(url: string): Promise<string[]> {
  const sql = postgres(url, { max: 1 });
  try {
    const rows = await sql<{ name: string }[]>`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`;
    return rows.map((r) => r.name);
  } finally {
    await sql.end();
  }
}

async function appliedMigrations(url: string): Promise<string[]> {
  const sql = postgres(url, { max: 1 });
  try {
    const rows = await sql<{ hash: string }[]>`SELECT hash FROM drizzle.__drizzle_migrations ORDER BY id`;
    return rows.map((r) => r.hash);
  } finally {
    await sql.end();
  }
}

test("the embedded PostgreSQL migrations are exactly drizzle-pg/ (run `bun run db:generate` when this fails)", () => {
  const folder = join(ROOT, PG_MIGRATIONS.folder);
  const onDisk = readdirSync(folder).filter((f) => f.endsWith(".sql")).sort();
  expect(migrationFiles.map((m) => `${m.tag}.sql`)).toEqual(onDisk);
  for (const file of migrationFiles) expect(file.sql).toBe(readFileSync(join(folder, `${file.tag}.sql`), "utf8"));
  const journal = JSON.parse(readFileSync(join(folder, "meta/_journal.json"), "utf8"));
  expect(migrationJournal).toEqual(journal);
  expect(journal.dialect).toBe("postgresql");
  const tags = journal.entries.map((e: { tag: string }) => e.tag);
  expect(readFileSync(join(ROOT, PG_MIGRATIONS.module), "utf8")).toBe(renderMigrationsModule(tags, PG_MIGRATIONS));
});

test("opening an empty database creates every table of the schema; opening it again applies nothing twice", async () => {
  const url = await freshDatabase("migrations_apply");
  expect(await publicTables(url)).toEqual([]);
  const first = await openPostgres(url);
  await first.close();
  expect(await publicTables(url)).toEqual(schemaTables);
  const applied = await appliedMigrations(url);
  expect(applied).toHaveLength(migrationJournal.entries.length);
  const second = await openPostgres(url);
  await second.close();
  expect(await appliedMigrations(url)).toEqual(applied);
});

test("the tables take rows through drizzle with the schema's defaults, ids from the identity, bigint read as numbers", async () => {
  const open = await openPostgres(await freshDatabase("migrations_rows"));
  try {
    const big = 2 ** 53 - 1;
    await open.db.insert(pgSchema.updates).values({ updateId: big, chatId: -1001234567890, kind: "message", payload: '{"update_id":1}', receivedAt: 1, updatedAt: 1 });
    expect(await open.db.select().from(pgSchema.updates)).toEqual([
      { updateId: big, chatId: -1001234567890, userId: null, kind: "message", payload: '{"update_id":1}', status: "received", error: null, receivedAt: 1, updatedAt: 1 },
    ]);
    const [row] = await open.db.insert(pgSchema.outbox).values({ chatId: 5, text: "hi", nextAttemptAt: 0, createdAt: 0, updatedAt: 0 }).returning();
    expect(row).toMatchObject({ id: 1, method: "sendMessage", status: "queued", attempts: 0 });
    // The raw client reads int8 as numbers too, as bun:sqlite does.
    expect([...(await open.sql`SELECT update_id, count(*) AS n FROM updates GROUP BY update_id`)]).toEqual([{ update_id: big, n: 1 }]);
  } finally {
    await open.close();
  }
});

test("connections carry the statement and idle-in-transaction timeouts", async () => {
  const open = await openPostgres(await freshDatabase("migrations_timeouts"), { statementTimeoutMs: 1_500, idleInTransactionTimeoutMs: 2_500 });
  try {
    expect([...(await open.sql`SHOW statement_timeout`)]).toEqual([{ statement_timeout: "1500ms" }]);
    expect([...(await open.sql`SHOW idle_in_transaction_session_timeout`)]).toEqual([{ idle_in_transaction_session_timeout: "2500ms" }]);
    await expect(open.sql`SELECT pg_sleep(5)`).rejects.toThrow(/statement timeout/);
  } finally {
    await open.close();
  }
  const defaults = await openPostgres(await freshDatabase("migrations_default_timeouts"));
  try {
    expect([...(await defaults.sql`SHOW statement_timeout`)]).toEqual([{ statement_timeout: "30s" }]);
    expect([...(await defaults.sql`SHOW idle_in_transaction_session_timeout`)]).toEqual([{ idle_in_transaction_session_timeout: "10s" }]);
  } finally {
    await defaults.close();
  }
});

test("three processes starting at once on one empty database all come up, and the schema is made once", async () => {
  const url = await freshDatabase("migrations_race");
  const dir = tempDir();
  const script = join(dir.path, "open.ts");
  // Each child waits on stdin so the three open at the same instant, once all are loaded.
  writeFileSync(
    script,
    `import { openPostgres } from ${JSON.stringify(join(ROOT, "src/db/pg/index.ts"))};
console.log("ready");
for await (const _ of Bun.stdin.stream()) break;
const open = await openPostgres(process.argv[2]!);
await open.close();
console.log("opened");
`,
  );
  const children = Array.from({ length: 3 }, () => Bun.spawn([process.execPath, script, url], { stdin: "pipe", stdout: "pipe", stderr: "pipe" }));
  const outputs = children.map((child) => ({ child, out: "", reader: child.stdout.getReader() }));
  for (const o of outputs) {
    while (!o.out.includes("ready")) {
      const { value, done } = await o.reader.read();
      if (done) throw new Error(`a child exited before it was ready: ${await new Response(o.child.stderr).text()}`);
      o.out += new TextDecoder().decode(value);
    }
  }
  for (const child of children) {
    child.stdin.write("go\n");
    await child.stdin.end();
  }
  const results = await Promise.all(
    outputs.map(async (o) => {
      for (;;) {
        const { value, done } = await o.reader.read();
        if (done) break;
        o.out += new TextDecoder().decode(value);
      }
      return { code: await o.child.exited, out: o.out.trim(), err: (await new Response(o.child.stderr).text()).trim() };
    }),
  );
  expect(results).toEqual(Array.from({ length: 3 }, () => ({ code: 0, out: "ready\nopened", err: "" })));
  expect(await publicTables(url)).toEqual(schemaTables);
  expect(await appliedMigrations(url)).toHaveLength(migrationJournal.entries.length);
  dir.cleanup();
});

import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseError, openDatabase } from "../../src/db/index.ts";
import { migrationFiles, migrationJournal } from "../../src/db/migrations.generated.ts";
import { renderMigrationsModule } from "../../scripts/embed-migrations.ts";
import { ROOT, tempDir } from "../helpers.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

test("the embedded migrations are exactly drizzle/ (run `bun run db:generate` when this fails)", () => {
  const onDisk = readdirSync(join(ROOT, "drizzle")).filter((f) => f.endsWith(".sql")).sort();
  expect(migrationFiles.map((m) => `${m.tag}.sql`)).toEqual(onDisk);
  for (const file of migrationFiles) expect(file.sql).toBe(readFileSync(join(ROOT, "drizzle", `${file.tag}.sql`), "utf8"));
  const journal = JSON.parse(readFileSync(join(ROOT, "drizzle/meta/_journal.json"), "utf8"));
  expect(migrationJournal).toEqual(journal);
  expect(readFileSync(join(ROOT, "src/db/migrations.generated.ts"), "utf8")).toBe(renderMigrationsModule(journal.entries.map((e: { tag: string }) => e.tag)));
});

test("opening creates the folder, applies migrations once, and sets WAL + synchronous=FULL + a busy timeout", () => {
  const path = join(dir.path, "nested/deeper/timbre.db");
  const first = openDatabase(path);
  expect(first.sqlite.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
  expect(first.sqlite.query("PRAGMA synchronous").get()).toEqual({ synchronous: 2 }); // 2 = FULL
  expect((first.sqlite.query("PRAGMA busy_timeout").get() as { timeout: number }).timeout).toBeGreaterThanOrEqual(1000);
  const tables = first.sqlite.query("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name").all().map((r) => (r as { name: string }).name);
  expect(tables).toEqual(expect.arrayContaining(["updates", "settings", "outbox", "runs", "run_steps", "parked_updates"]));
  first.close();
  const second = openDatabase(path);
  expect(second.sqlite.query("SELECT count(*) AS n FROM __drizzle_migrations").get()).toEqual({ n: migrationFiles.length });
  second.close();
});

test("an unusable path is a clear start error naming DATABASE_PATH", () => {
  const file = join(dir.path, "a-file");
  writeFileSync(file, "not a folder");
  expect(() => openDatabase(join(file, "timbre.db"))).toThrow(DatabaseError);
  expect(() => openDatabase(join(file, "timbre.db"))).toThrow(/^DATABASE_PATH=".*a-file\/timbre.db" is not usable: cannot create or write the folder/);
  const notSqlite = join(dir.path, "garbage.db");
  writeFileSync(notSqlite, "this is not a database ".repeat(100));
  expect(() => openDatabase(notSqlite)).toThrow(/^DATABASE_PATH=".*garbage.db"/);
});

test("a bad DATABASE_PATH stops the service with one line and exit code 1", async () => {
  const file = join(dir.path, "blocker");
  writeFileSync(file, "x");
  const proc = Bun.spawn([process.execPath, join(ROOT, "src/main.ts")], {
    env: { PATH: process.env.PATH ?? "", DATABASE_PATH: join(file, "db", "timbre.db"), PORT: "0" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  expect(code).toBe(1);
  expect(stderr).toMatch(/^timbre: DATABASE_PATH=".*blocker\/db\/timbre.db" is not usable: .*\n$/);
});

test(
  "migrations apply inside a binary built with bun build --compile, run from an empty folder",
  async () => {
    const entry = join(dir.path, "migrate-entry.ts");
    writeFileSync(
      entry,
      `import { openDatabase } from ${JSON.stringify(join(ROOT, "src/db/index.ts"))};
const db = openDatabase(process.argv[2]!);
const rows = db.sqlite.query("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name").all();
console.log(JSON.stringify(rows.map((r) => (r as { name: string }).name)));
db.close();
`,
    );
    const binary = join(dir.path, "bin", "migrate");
    const build = Bun.spawnSync([process.execPath, "build", "--compile", entry, "--outfile", binary], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    expect(build.exitCode, build.stderr.toString()).toBe(0);

    const empty = tempDir("timbre-empty-");
    try {
      const run = Bun.spawnSync([binary, "data/fresh.db"], { cwd: empty.path, env: { PATH: "/usr/bin:/bin" }, stdout: "pipe", stderr: "pipe" });
      expect(run.exitCode, run.stderr.toString()).toBe(0);
      const tables = JSON.parse(run.stdout.toString()) as string[];
      expect(tables).toEqual(expect.arrayContaining(["__drizzle_migrations", "updates", "outbox", "runs", "run_steps"]));
      // The binary and the source agree on what was applied.
      const check = new Database(join(empty.path, "data/fresh.db"), { readonly: true });
      expect(check.query("SELECT count(*) AS n FROM __drizzle_migrations").get()).toEqual({ n: migrationFiles.length });
      check.close();
    } finally {
      empty.cleanup();
    }
  },
  120_000,
);

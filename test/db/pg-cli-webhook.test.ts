// The command line with DATABASE_URL (several instances on PostgreSQL) uses PostgreSQL's data:
// `timbre webhook set` sends the secret the instances keep there (it used to open DATABASE_PATH,
// generate a new secret and make every webhook 401), and `timbre backup` refuses (a copy of a
// SQLite file left from before a move is no backup).
import { afterAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { runToExit, startEmulator, tempDir } from "../helpers.ts";
import { freshDatabase } from "../pg/cluster.ts";

const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
afterAll(() => {
  emulator.stop();
  dir.cleanup();
});

test("timbre webhook set with DATABASE_URL sends the secret the instances keep in PostgreSQL", async () => {
  const databaseUrl = await freshDatabase("audit_webhook_cli", { migrated: true });
  const stored = "pg-stored-secret_0123456789";
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await sql`INSERT INTO settings (key, value) VALUES ('webhook_secret', ${stored})`;
  } finally {
    await sql.end();
  }
  const url = "https://bot.example.com/telegram/webhook";
  // The environment of an instance (docs/deploy.md): token, DATABASE_URL, no WEBHOOK_SECRET, no DATABASE_PATH.
  const run = await runToExit(
    { TELEGRAM_BOT_TOKEN: emulator.token, TELEGRAM_API_URL: apiUrl, DATABASE_URL: databaseUrl },
    [process.execPath, join(import.meta.dir, "../../src/main.ts"), "webhook", "set", "--url", url],
    dir.path,
  );
  expect(run.code).toBe(0);
  const call = emulator.callsOf("setWebhook").at(-1)!;
  expect(call.params).toMatchObject({ url });
  // The instances check this secret; any other one makes every webhook 401.
  expect(call.params.secret_token).toBe(stored);
  // DATABASE_PATH "is not used" with DATABASE_URL: no SQLite database is made in the working directory.
  expect(existsSync(join(dir.path, "data/timbre.db"))).toBe(false);
});

test("timbre backup with DATABASE_URL refuses, pointing at pg_dump, and writes nothing", async () => {
  const databaseUrl = await freshDatabase("cli_backup", { migrated: true });
  const target = join(dir.path, "backup.db");
  const run = await runToExit({ DATABASE_URL: databaseUrl }, [process.execPath, join(import.meta.dir, "../../src/main.ts"), "backup", target], dir.path);
  expect(run.code).toBe(1);
  expect(run.stderr).toContain("back it up with pg_dump");
  expect(existsSync(target)).toBe(false);
});


/** Online backups (VACUUM INTO): the module, and POST /admin/backup on a running service. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BackupError, backupFile, backupInto } from "../../src/db/backup.ts";
import { openDatabase } from "../../src/db/index.ts";
import { postUpdate, serviceEnv, startEmulator, startInProcess, tempDir, textUpdate, type Service } from "../helpers.ts";

const ADMIN_TOKEN = "backup-admin-token_0123456789abcdef";
const { emulator, apiUrl } = startEmulator(3);
const dir = tempDir();
let service: Service;

beforeAll(async () => {
  service = await startInProcess(serviceEnv(emulator, apiUrl, join(dir.path, "timbre.db"), { AGENT: "echo", ADMIN_TOKEN }));
});

afterAll(async () => {
  await service.stop();
  emulator.stop();
  dir.cleanup();
});

function failureOf(fn: () => unknown): BackupError {
  try {
    fn();
  } catch (error) {
    if (error instanceof BackupError) return error;
    throw error;
  }
  throw new Error("expected a BackupError");
}

test("backupInto copies the open database, commits still in the WAL included, into a new file", () => {
  const source = openDatabase(join(dir.path, "source.db"));
  source.sqlite.exec("CREATE TABLE notes (text TEXT)");
  source.sqlite.prepare("INSERT INTO notes VALUES (?)").run("only in the WAL so far");
  expect(existsSync(join(dir.path, "source.db-wal"))).toBe(true);
  const done = backupInto(source.sqlite, "nested/folder/copy.db", dir.path);
  expect(done.path).toBe(join(dir.path, "nested/folder/copy.db"));
  expect(done.bytes).toBeGreaterThan(0);
  const copy = new Database(done.path, { readonly: true });
  expect(copy.query("SELECT text FROM notes").all()).toEqual([{ text: "only in the WAL so far" }]);
  expect(copy.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
  copy.close();

  const again = failureOf(() => backupInto(source.sqlite, done.path));
  expect(again.failure).toBe("exists");
  expect(again.message).toContain("already exists");
  // An empty file is refused too (VACUUM INTO itself would write into it).
  writeFileSync(join(dir.path, "empty.db"), "");
  expect(failureOf(() => backupInto(source.sqlite, join(dir.path, "empty.db"))).failure).toBe("exists");
  expect(failureOf(() => backupInto(source.sqlite, " ")).failure).toBe("path");
  source.close();
});

test("backupFile opens the file read-only without migrating it, and says what is wrong with a missing one or one that is not SQLite", () => {
  const plain = new Database(join(dir.path, "plain.db"));
  plain.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1)");
  plain.close();
  const done = backupFile(join(dir.path, "plain.db"), join(dir.path, "plain-copy.db"));
  const copy = new Database(done.path, { readonly: true });
  // No migrations were applied to the source or the copy.
  expect(copy.query("SELECT name FROM sqlite_master WHERE type = 'table'").all()).toEqual([{ name: "t" }]);
  copy.close();
  const missing = failureOf(() => backupFile(join(dir.path, "nope.db"), join(dir.path, "x.db")));
  expect(missing.failure).toBe("source");
  expect(missing.message).toContain("DATABASE_PATH");
  expect(existsSync(join(dir.path, "nope.db"))).toBe(false);
  // A file that is not SQLite is the source's fault, not the target's: nothing is written.
  writeFileSync(join(dir.path, "text.db"), "this is a text file, not a SQLite database\n".repeat(200));
  const notSqlite = failureOf(() => backupFile(join(dir.path, "text.db"), join(dir.path, "from-text", "copy.db")));
  expect([notSqlite.failure, notSqlite.message]).toEqual(["source", `cannot open DATABASE_PATH=${JSON.stringify(join(dir.path, "text.db"))}: file is not a database`]);
  expect(existsSync(join(dir.path, "from-text"))).toBe(false);
});

async function backupRoute(body: unknown, token: string | null = ADMIN_TOKEN): Promise<Response> {
  return fetch(`${service.url}/admin/backup`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
}

test("POST /admin/backup writes a backup of the live database; 409 for an existing file, 400 without a path, 401 without the token", async () => {
  for (let i = 0; i < 3; i++) expect((await postUpdate(service.url, textUpdate({ id: 6100, first_name: "A" }, `b${i}`, 610_000 + i))).status).toBe(200);
  const target = join(dir.path, "admin/backup-1.db");
  const made = await backupRoute({ path: target });
  expect(made.status).toBe(200);
  const answer = (await made.json()) as { ok: boolean; path: string; bytes: number; ms: number };
  expect(answer).toMatchObject({ ok: true, path: target });
  expect(answer.bytes).toBeGreaterThan(0);
  const copy = new Database(target, { readonly: true });
  expect(copy.query("SELECT count(*) AS n FROM updates WHERE update_id >= 610000").get()).toEqual({ n: 3 });
  copy.close();

  const exists = await backupRoute({ path: target });
  expect(exists.status).toBe(409);
  expect(await exists.json()).toEqual({ ok: false, error: expect.stringContaining("already exists") });

  const noPath = await backupRoute({});
  expect(noPath.status).toBe(400);
  expect(((await noPath.json()) as { ok: boolean }).ok).toBe(false);

  const anonymous = await backupRoute({ path: join(dir.path, "admin/anonymous.db") }, null);
  expect(anonymous.status).toBe(401);
  expect(existsSync(join(dir.path, "admin/anonymous.db"))).toBe(false);
});

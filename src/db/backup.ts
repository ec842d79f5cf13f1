import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { thrownMessage } from "../observability/log.ts";

/**
 * Online backups with `VACUUM INTO`: SQLite copies one consistent snapshot (a read
 * transaction, WAL included) into a new, compact file while the service keeps running.
 * Copying timbre.db with cp while it runs is not safe: the WAL beside it holds recent commits.
 */

export interface BackupResult {
  /** Absolute path of the new file. */
  path: string;
  bytes: number;
  ms: number;
}

/** Why a backup failed: the target exists, the target path is unusable, or writing (or reading) failed. */
export type BackupFailure = "exists" | "path" | "write" | "source";

/** A backup that could not be made; the message says what to change. */
export class BackupError extends Error {
  override name = "BackupError";
  constructor(
    readonly failure: BackupFailure,
    message: string,
  ) {
    super(message);
  }
}

/** Resolves `target` (relative: against `cwd`) and checks it can be written without replacing anything. */
function prepareTarget(target: string, cwd: string): string {
  if (target.trim() === "") throw new BackupError("path", "the backup path is empty: give the path of a new file, such as /var/lib/timbre/backups/timbre-2024-06-01.db");
  // No file system takes one, and SQLite would cut the name there and write another file.
  if (target.includes("\0")) throw new BackupError("path", "the backup path holds a NUL character: give the path of a new file, such as /var/lib/timbre/backups/timbre-2024-06-01.db");
  const path = resolve(cwd, target);
  if (existsSync(path)) throw new BackupError("exists", `${path} already exists; a backup never replaces a file: choose a new name or remove the old one`);
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (error) {
    throw new BackupError("path", `cannot create the folder ${dirname(path)}: ${reasonOf(error)}`);
  }
  return path;
}

/** Writes a consistent copy of the open database `sqlite` to the new file `target`. Blocks while it copies. */
export function backupInto(sqlite: Database, target: string, cwd: string = process.cwd()): BackupResult {
  const started = performance.now();
  const path = prepareTarget(target, cwd);
  try {
    // VACUUM INTO takes any expression: the path is bound, never spliced into the SQL.
    sqlite.prepare("VACUUM INTO ?").run(path);
  } catch (error) {
    // A half-written file (disk full) would only make the next attempt fail with "already exists".
    rmSync(path, { force: true });
    throw new BackupError("write", `could not write the backup to ${path}: ${reasonOf(error)}`);
  }
  return { path, bytes: statSync(path).size, ms: Math.round(performance.now() - started) };
}

/**
 * Backs up the database file at `databasePath` (the `timbre backup` command): opened read-only
 * and without migrations, so a backup taken with a newer binary before an upgrade is of the
 * database exactly as it is. Safe while the service runs.
 */
export function backupFile(databasePath: string, target: string, cwd: string = process.cwd()): BackupResult {
  if (databasePath === ":memory:") throw new BackupError("source", "DATABASE_PATH is :memory:; there is no file to back up");
  if (!existsSync(databasePath)) throw new BackupError("source", `no database at DATABASE_PATH=${JSON.stringify(databasePath)}; set DATABASE_PATH to the file timbre serves from`);
  let sqlite: Database | undefined;
  try {
    sqlite = new Database(databasePath, { readonly: true });
    sqlite.exec("PRAGMA busy_timeout = 5000");
    // Opening is lazy: read the schema now, so a file that is not SQLite is named as the source it is.
    sqlite.query("SELECT count(*) FROM sqlite_schema").get();
  } catch (error) {
    sqlite?.close();
    throw new BackupError("source", `cannot open DATABASE_PATH=${JSON.stringify(databasePath)}: ${reasonOf(error)}`);
  }
  try {
    return backupInto(sqlite, target, cwd);
  } finally {
    sqlite.close();
  }
}

function reasonOf(error: unknown): string {
  return thrownMessage(error);
}

import { Database, type SQLQueryBindings, type Statement } from "bun:sqlite";
import { accessSync, constants, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import { embeddedMigrations } from "./embedded-migrations.ts";
import { migrationFiles, migrationJournal } from "./migrations.generated.ts";
import { closeWalSync } from "./wal-sync.ts";
import * as schema from "./schema.ts";
import { thrownMessage } from "../observability/log.ts";

export type Db = BunSQLiteDatabase<typeof schema> & { $client: Database };

export interface OpenDatabase {
  db: Db;
  sqlite: Database;
  close(): void;
}

/** The database could not be opened or migrated; the message says what to fix. */
export class DatabaseError extends Error {
  override name = "DatabaseError";
}

/**
 * Drizzle prepares a fresh SQLite statement for every query it runs; on timbre's hot path
 * (a few queries per update) compiling SQL cost more than running it. `query()` is
 * bun:sqlite's cached prepare, keyed by the SQL text, so each distinct statement compiles once.
 */
class StatementCachingDatabase extends Database {
  override prepare<R, P extends SQLQueryBindings | SQLQueryBindings[]>(sql: string, params?: P): Statement<R, P extends any[] ? P : [P]> {
    return params === undefined ? this.query<R, P>(sql) : super.prepare<R, P>(sql, params);
  }
}

interface Migratable {
  dialect: { migrate(migrations: unknown, session: unknown, config: { migrationsFolder: string }): void };
  session: unknown;
}

function ensureFolder(path: string) {
  if (path === ":memory:") return;
  const folder = dirname(path);
  try {
    mkdirSync(folder, { recursive: true });
    accessSync(folder, constants.W_OK);
  } catch (error) {
    const reason = thrownMessage(error);
    throw new DatabaseError(`DATABASE_PATH=${JSON.stringify(path)} is not usable: cannot create or write the folder ${folder} (${reason})`);
  }
}

/**
 * Opens the SQLite file with the durability timbre promises (WAL + synchronous=FULL: a
 * commit survives kill -9 and power loss) and applies the embedded migrations.
 */
export function openDatabase(path: string): OpenDatabase {
  ensureFolder(path);
  let sqlite: Database;
  try {
    sqlite = new StatementCachingDatabase(path, { create: true, strict: true });
    sqlite.exec("PRAGMA journal_mode = WAL");
    sqlite.exec("PRAGMA synchronous = FULL");
    sqlite.exec("PRAGMA busy_timeout = 5000");
    sqlite.exec("PRAGMA foreign_keys = ON");
  } catch (error) {
    const reason = thrownMessage(error);
    throw new DatabaseError(`DATABASE_PATH=${JSON.stringify(path)} cannot be opened: ${reason}`);
  }
  const db = drizzle({ client: sqlite, schema }) as Db;
  try {
    (db as unknown as Migratable).dialect.migrate(embeddedMigrations({ journal: migrationJournal, files: migrationFiles }), (db as unknown as Migratable).session, {
      migrationsFolder: "(embedded)",
    });
  } catch (error) {
    sqlite.close();
    const reason = thrownMessage(error);
    throw new DatabaseError(`DATABASE_PATH=${JSON.stringify(path)}: migrations failed: ${reason}`);
  }
  return {
    db,
    sqlite,
    close() {
      try {
        sqlite.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      } catch {
        // A checkpoint is an optimisation; the WAL is replayed on the next open anyway.
      }
      closeWalSync(sqlite);
      sqlite.close();
    },
  };
}

/**
 * Runs `fn` in a transaction whose commit is not fsynced on its own (synchronous=NORMAL for
 * that commit). In WAL mode it still survives kill -9; against power loss it becomes safe with
 * the next FULL commit, which syncs every earlier one (the WAL is written in order). Use it
 * for state that is redone after a loss (routing, run ends, "sent" marks), never for what is
 * acknowledged to Telegram or what must be on disk before a message goes out. Inside another
 * transaction it simply joins it. `immediate` takes the write lock at the start (BEGIN IMMEDIATE):
 * for a transaction that reads before it writes, so another connection's commit in between
 * makes it wait (busy_timeout) instead of failing its first write with SQLITE_BUSY.
 */
export function relaxedTransaction<T>(sqlite: Database, fn: () => T, options?: { immediate?: boolean }): T {
  if (sqlite.inTransaction) return fn();
  const s = transactionStatements(sqlite);
  s.normal.run();
  try {
    (options?.immediate ? s.beginImmediate : s.begin).run();
    try {
      const result = fn();
      s.commit.run();
      return result;
    } catch (error) {
      // A failed COMMIT (or fn) may leave the transaction open; some errors roll it back themselves.
      if (sqlite.inTransaction) s.rollback.run();
      throw error;
    }
  } finally {
    s.full.run();
  }
}

interface TransactionStatements {
  normal: Statement;
  full: Statement;
  begin: Statement;
  beginImmediate: Statement;
  commit: Statement;
  rollback: Statement;
}

const transactionStatementsByDb = new WeakMap<Database, TransactionStatements>();

/** Compiled once per connection: exec() would parse the PRAGMAs again on every transaction. */
function transactionStatements(sqlite: Database): TransactionStatements {
  let s = transactionStatementsByDb.get(sqlite);
  if (!s) {
    s = {
      normal: sqlite.prepare("PRAGMA synchronous = NORMAL"),
      full: sqlite.prepare("PRAGMA synchronous = FULL"),
      begin: sqlite.prepare("BEGIN"),
      beginImmediate: sqlite.prepare("BEGIN IMMEDIATE"),
      commit: sqlite.prepare("COMMIT"),
      rollback: sqlite.prepare("ROLLBACK"),
    };
    transactionStatementsByDb.set(sqlite, s);
  }
  return s;
}

import { existsSync } from "node:fs";
import type { Config } from "../config.ts";
import { DatabaseError, openDatabase, type OpenDatabase } from "../db/index.ts";
import { holdInstanceLock, InstanceLockError, type InstanceLock } from "../db/instance-lock.ts";
import { copySqliteToPostgres, TargetNotEmptyError } from "../db/pg/copy-from-sqlite.ts";
import { openPostgres, redactedUrl, type OpenPostgres } from "../db/pg/index.ts";
import type { CliOutput } from "./webhook.ts";
import { thrownMessage } from "../observability/log.ts";

export const MIGRATE_TO_POSTGRES_USAGE = `usage: timbre migrate-to-postgres
  Copies every table of the SQLite database at DATABASE_PATH into the empty PostgreSQL database
  at DATABASE_URL (creating its tables first), in one transaction, and prints the rows copied
  per table. Stop the timbre serving DATABASE_PATH first: the copy refuses to run beside it.
  The SQLite file is only read (once brought to this version's schema, as a start would).
  Exit codes: 0 copied; 1 a database could not be opened, read or written; 2 DATABASE_URL is
  unset or the PostgreSQL database already holds rows.
`;

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_REFUSED = 2;

/**
 * `timbre migrate-to-postgres [--help]` from the words after the command: the usage, or the copy
 * with the configuration `config()` loads (only then, so --help needs no valid environment).
 */
export async function migrateToPostgresCommand(args: string[], config: () => Config, io: CliOutput): Promise<number> {
  if (args.length === 1 && (args[0] === "--help" || args[0] === "-h")) {
    io.out(MIGRATE_TO_POSTGRES_USAGE);
    return EXIT_OK;
  }
  if (args.length > 0) {
    io.err(`timbre migrate-to-postgres: takes no arguments (DATABASE_PATH and DATABASE_URL say what to copy where); see timbre migrate-to-postgres --help\n`);
    return EXIT_REFUSED;
  }
  return runMigrateToPostgres(config(), io);
}

/** Copies DATABASE_PATH into DATABASE_URL; see MIGRATE_TO_POSTGRES_USAGE. */
export async function runMigrateToPostgres(config: Config, io: CliOutput): Promise<number> {
  const say = (text: string) => io.err(`timbre migrate-to-postgres: ${text}\n`);
  const source = `DATABASE_PATH=${JSON.stringify(config.databasePath)}`;
  if (config.databaseUrl === undefined) {
    say(`DATABASE_URL is not set: set it to the PostgreSQL database to copy ${source} into, such as postgres://timbre:password@db.example.com:5432/timbre`);
    return EXIT_REFUSED;
  }
  const target = `DATABASE_URL=${JSON.stringify(redactedUrl(config.databaseUrl))}`;
  if (config.databasePath === ":memory:" || !existsSync(config.databasePath)) {
    say(`${source} does not exist: point it at the SQLite file of the bot to move`);
    return EXIT_FAILED;
  }

  let lock: InstanceLock | undefined;
  let sqlite: OpenDatabase | undefined;
  let pg: OpenPostgres | undefined;
  try {
    // Held for the whole copy: a timbre started meanwhile on DATABASE_PATH stops at once.
    lock = holdInstanceLock(config.databasePath);
    sqlite = openDatabase(config.databasePath);
    pg = await openPostgres(config.databaseUrl);
    const started = performance.now();
    const copied = await copySqliteToPostgres(sqlite.sqlite, pg.sql);
    const ms = Math.round(performance.now() - started);
    const width = Math.max(...copied.map((t) => t.name.length));
    for (const table of copied) io.out(`${table.name.padEnd(width)}  ${table.rows}\n`);
    const total = copied.reduce((sum, t) => sum + t.rows, 0);
    say(`copied ${total} row${total === 1 ? "" : "s"} in ${copied.length} tables from ${source} to ${target} in one transaction (${ms} ms); start timbre with DATABASE_URL set to serve from PostgreSQL`);
    return EXIT_OK;
  } catch (error) {
    if (error instanceof TargetNotEmptyError) {
      say(`${target} already holds rows (${error.tables.map((t) => `${t.name}: ${t.rows}`).join(", ")}); nothing was copied. Copy into an empty database (a new one, or drop and recreate this one)`);
      return EXIT_REFUSED;
    }
    if (error instanceof InstanceLockError && error.holderPid !== undefined) {
      say(`${source} is in use by a running timbre (pid ${error.holderPid}); nothing was copied. Stop it first, so no update arrives during the copy`);
      return EXIT_FAILED;
    }
    if (error instanceof InstanceLockError || error instanceof DatabaseError) {
      say(error.message);
      return EXIT_FAILED;
    }
    say(`the copy failed and was rolled back, nothing was copied: ${thrownMessage(error)}`);
    return EXIT_FAILED;
  } finally {
    await pg?.close();
    sqlite?.close();
    lock?.release();
  }
}

import { sql as drizzleSql } from "drizzle-orm";
import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import postgres, { type Sql } from "postgres";
import { DatabaseError } from "../index.ts";
import { embeddedMigrations } from "../embedded-migrations.ts";
import { migrationFiles, migrationJournal } from "./migrations.generated.ts";
import * as schema from "./schema.ts";
import { thrownMessage } from "../../observability/log.ts";

export type PgDb = PostgresJsDatabase<typeof schema> & { $client: Sql };

export interface OpenPostgres {
  db: PgDb;
  /** The postgres.js client (a pool): for SQL drizzle does not say well, LISTEN/NOTIFY, sql.begin. */
  sql: Sql;
  /** Ends the pool, letting queries in flight finish for up to CLOSE_TIMEOUT_SECONDS. */
  close(): Promise<void>;
}

export interface PostgresOptions {
  /** Connections in the pool (default 10, postgres.js's). */
  max?: number;
  /** Server-side limit of one statement (default STATEMENT_TIMEOUT_MS). */
  statementTimeoutMs?: number;
  /** Server-side limit of a transaction left idle (default IDLE_IN_TRANSACTION_TIMEOUT_MS). */
  idleInTransactionTimeoutMs?: number;
  /** How long connecting may take before the open fails (default CONNECT_TIMEOUT_SECONDS). */
  connectTimeoutSeconds?: number;
  /** Every transaction read-only and no migrations (timbre replay-check, beside running instances of another version). */
  readOnly?: boolean;
}

/**
 * timbre's statements touch a few rows by key; one that runs 30 s is waiting on a lock held by a
 * stuck instance or scanning by mistake, and failing it (the work is retried) beats a hang.
 */
export const STATEMENT_TIMEOUT_MS = 30_000;
/**
 * timbre never waits on anything but its own queries inside a transaction. A transaction idle
 * this long belongs to a frozen or partitioned instance; the server ends it so its row locks (a
 * conversation, a chat's outbox head) pass to the other instances.
 */
export const IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000;
export const CONNECT_TIMEOUT_SECONDS = 10;
export const CLOSE_TIMEOUT_SECONDS = 5;
/**
 * The advisory lock key migrations hold (pg_advisory_xact_lock is per database): "timbre" in
 * ASCII. Instances starting at once migrate one after the other, and the later ones find
 * nothing left to do.
 */
export const MIGRATION_LOCK_KEY = 0x74696d627265;

/** bigint (int8) columns read as JS numbers, as bun:sqlite reads integers: every id and time stays under 2^53. */
export const INT8_AS_NUMBER = { to: 20, from: [20], serialize: (value: number | bigint) => String(value), parse: (value: string) => Number(value) };

/** The URL with its password hidden, for messages; "<hidden>" when it has no user:password@host part to hide it in. */
export function redactedUrl(url: string): string {
  if (!url.includes("//")) return "<hidden>";
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "<unparseable>";
  }
}

function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DatabaseError(`DATABASE_URL is not a URL: expected postgres://user:password@host:5432/database`);
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new DatabaseError(`DATABASE_URL=${JSON.stringify(redactedUrl(url))} is not a PostgreSQL URL: expected postgres://user:password@host:5432/database`);
  }
}

interface DriverError {
  code?: string;
  message?: string;
}

/** What a failed connect or migration means for the person who set DATABASE_URL. */
export function describePostgresError(url: string, error: unknown): DatabaseError {
  const where = `DATABASE_URL=${JSON.stringify(redactedUrl(url))}`;
  const { code, message = String(error) } = (error ?? {}) as DriverError;
  switch (code) {
    case "ECONNREFUSED":
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "ECONNRESET":
    case "CONNECT_TIMEOUT":
    case "CONNECTION_CLOSED":
    case "CONNECTION_ENDED":
      return new DatabaseError(`${where}: cannot reach the PostgreSQL server (${code}: ${message}); is it running, and are the host and port right?`);
    case "28P01":
    case "28000":
      return new DatabaseError(`${where}: PostgreSQL refused the login (${message}); check the user and password in the URL`);
    case "3D000":
      return new DatabaseError(`${where}: ${message}; create it first (createdb, or CREATE DATABASE)`);
    default:
      return new DatabaseError(`${where}: ${message}${code ? ` (${code})` : ""}`);
  }
}

/** Drizzle wraps a failed query's error in one whose message is the whole query: the cause says what failed. */
function queryFailure(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : undefined;
  const message = thrownMessage(error);
  return cause === undefined ? message : `${cause} (${message.split("\n")[0]!.slice(0, 200)})`;
}

interface Migrator {
  migrate(migrations: ReturnType<typeof embeddedMigrations>, session: unknown, config: { migrationsFolder: string }): Promise<void>;
}

interface TransactionSession {
  execute(query: unknown): Promise<unknown>;
  all(query: unknown): Promise<unknown[]>;
}

/**
 * Drizzle's pg migrator reads the applied migrations outside its transaction and creates its
 * schema and table with IF NOT EXISTS, which races: two instances starting on an empty
 * database both apply migration 0000 and one fails. Here the whole migrator runs inside one
 * transaction that first takes MIGRATION_LOCK_KEY, so the second instance waits for the first
 * to commit and then reads that everything is applied. The rows in drizzle.__drizzle_migrations
 * are drizzle's own.
 */
async function migrate(db: PgDb): Promise<void> {
  const migrations = embeddedMigrations({ journal: migrationJournal, files: migrationFiles });
  const dialect = (db as unknown as { dialect: Migrator }).dialect;
  await db.transaction(async (tx) => {
    // Waiting for another instance's migration, or a migration rewriting a big table, may take
    // longer than the statement timeout; the idle-in-transaction limit still applies.
    await tx.execute(drizzleSql`SET LOCAL statement_timeout = 0`);
    await tx.execute(drizzleSql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    const session = (tx as unknown as { session: TransactionSession }).session;
    // The migrator's own transaction becomes this one (no nested BEGIN, no savepoint).
    const inThisTransaction = { execute: (q: unknown) => session.execute(q), all: (q: unknown) => session.all(q), transaction: (fn: (t: unknown) => Promise<void>) => fn(tx) };
    await dialect.migrate(migrations, inThisTransaction, { migrationsFolder: "(embedded)" });
  });
}

/**
 * Opens a pool on the PostgreSQL database at `url` (DATABASE_URL) and applies the embedded
 * migrations, safely when several instances start at once. Each connection carries the
 * statement and idle-in-transaction timeouts above. Throws DatabaseError naming DATABASE_URL
 * (password hidden) when the URL is bad, the server cannot be reached or refuses the login,
 * or a migration fails.
 */
export async function openPostgres(url: string, options: PostgresOptions = {}): Promise<OpenPostgres> {
  checkUrl(url);
  let client: Sql;
  try {
    client = postgres(url, {
      max: options.max ?? 10,
      connect_timeout: options.connectTimeoutSeconds ?? CONNECT_TIMEOUT_SECONDS,
      // IF NOT EXISTS and friends report NOTICEs; postgres.js would print each with console.log.
      onnotice: () => {},
      types: { int8: INT8_AS_NUMBER },
      connection: {
        application_name: "timbre",
        // A commit is on disk when it returns, whatever the database's or role's default (off
        // would let a webhook answer 200 for an update a crash of the server loses).
        synchronous_commit: "on",
        statement_timeout: options.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS,
        idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs ?? IDLE_IN_TRANSACTION_TIMEOUT_MS,
        ...(options.readOnly ? { default_transaction_read_only: true } : {}),
      },
    });
  } catch (error) {
    throw describePostgresError(url, error);
  }
  let schemaInUse: string | null;
  try {
    [{ schemaInUse }] = await client<[{ schemaInUse: string | null }]>`SELECT current_schema() AS "schemaInUse"`;
  } catch (error) {
    await client.end({ timeout: 0 }).catch(() => {});
    throw describePostgresError(url, error);
  }
  // Its migrations and lease sequence live in public; a search_path elsewhere would split them.
  if (schemaInUse !== "public") {
    await client.end({ timeout: 0 }).catch(() => {});
    throw new DatabaseError(
      `DATABASE_URL=${JSON.stringify(redactedUrl(url))}: timbre keeps its tables in the schema public, but this connection's search_path puts them in ${schemaInUse === null ? "no schema (none of its schemas exists)" : JSON.stringify(schemaInUse)}: remove search_path from the URL (or the role's default), and give each bot a database of its own`,
    );
  }
  const db = drizzle({ client, schema }) as PgDb;
  try {
    if (!options.readOnly) await migrate(db);
  } catch (error) {
    await client.end({ timeout: 0 }).catch(() => {});
    throw new DatabaseError(`DATABASE_URL=${JSON.stringify(redactedUrl(url))}: migrations failed: ${queryFailure(error)}`);
  }
  return {
    db,
    sql: client,
    close: () => client.end({ timeout: CLOSE_TIMEOUT_SECONDS }),
  };
}

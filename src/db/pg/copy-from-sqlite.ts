import type { Database } from "bun:sqlite";
import { is } from "drizzle-orm";
import { getTableConfig as pgTableConfig, PgTable } from "drizzle-orm/pg-core";
import { getTableConfig as sqliteTableConfig, SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Sql } from "postgres";
import * as sqliteSchema from "../schema.ts";
import * as pgSchema from "./schema.ts";

/**
 * Moving a SQLite bot to PostgreSQL (`timbre migrate-to-postgres`): every table of the SQLite
 * schema, row for row, into an empty PostgreSQL database, in one transaction. The table list
 * comes from src/db/schema.ts itself, so a table added there is copied without a change here.
 */

export interface TableToCopy {
  name: string;
  /** The SQLite table's column names; its PostgreSQL twin has the same ones. */
  columns: string[];
  /** Columns PostgreSQL numbers itself (SQLite's AUTOINCREMENT ids): their sequences go on after the copied ids. */
  identityColumns: string[];
}

export interface CopiedTable {
  name: string;
  rows: number;
}

/** The target already holds rows: copying into it would mix two bots' data, or repeat a copy. */
export class TargetNotEmptyError extends Error {
  override name = "TargetNotEmptyError";
  constructor(readonly tables: CopiedTable[]) {
    super(`the PostgreSQL database already holds rows (${tables.map((t) => `${t.name}: ${t.rows}`).join(", ")}); copy into an empty database`);
  }
}

/** Rows per INSERT, kept under PostgreSQL's 65,535 parameters a statement. */
const PARAMETERS_PER_INSERT = 30_000;
/** Text held in memory per INSERT at most (payloads run up to 1 MiB each): a big table streams through. */
const CHARACTERS_PER_INSERT = 16 * 1024 * 1024;

function schemaTables<T>(schema: Record<string, unknown>, kind: new (...args: never[]) => T): T[] {
  return Object.values(schema).filter((value): value is T => is(value, kind as never));
}

/** Every table of the SQLite schema, paired with its PostgreSQL twin; throws when one has no twin. */
export function tablesToCopy(): TableToCopy[] {
  const pgTables = new Map(schemaTables(pgSchema, PgTable).map((t) => [pgTableConfig(t).name, pgTableConfig(t)]));
  return schemaTables(sqliteSchema, SQLiteTable).map((table) => {
    const config = sqliteTableConfig(table);
    const twin = pgTables.get(config.name);
    if (!twin) throw new Error(`the SQLite table ${config.name} has no PostgreSQL twin in src/db/pg/schema.ts`);
    return {
      name: config.name,
      columns: config.columns.map((c) => c.name),
      identityColumns: twin.columns.filter((c) => c.generatedIdentity !== undefined).map((c) => c.name),
    };
  });
}

/** Every table of the PostgreSQL schema: all must be empty before a copy. */
function targetTables(): string[] {
  return schemaTables(pgSchema, PgTable).map((t) => pgTableConfig(t).name);
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The highest id SQLite ever gave the table's AUTOINCREMENT column (rows since deleted included). */
function sqliteSequence(sqlite: Database, table: string): number {
  const hasSequences = sqlite.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'").get();
  if (!hasSequences) return 0;
  const row = sqlite.query<{ seq: number }, [string]>("SELECT seq FROM sqlite_sequence WHERE name = ?").get(table);
  return row?.seq ?? 0;
}

/**
 * Copies every table of `sqlite` into the PostgreSQL database behind `sql` (migrated, empty) in
 * one transaction that locks each target table, so nothing else writes during the copy and a
 * failure leaves the target as it was. Throws TargetNotEmptyError when any table of the target
 * holds a row. SQLite is read in one read transaction: one consistent snapshot.
 */
export async function copySqliteToPostgres(sqlite: Database, sql: Sql): Promise<CopiedTable[]> {
  const tables = tablesToCopy();
  sqlite.exec("BEGIN");
  try {
    return await sql.begin(async (tx) => {
      // A big table takes longer to copy than the statement timeout allows a hot-path query.
      await tx`SET LOCAL statement_timeout = 0`;
      const targets = targetTables();
      await tx.unsafe(`LOCK TABLE ${targets.map(quote).join(", ")} IN ACCESS EXCLUSIVE MODE`);
      const occupied: CopiedTable[] = [];
      for (const name of targets) {
        const [row] = await tx.unsafe<{ n: number }[]>(`SELECT count(*)::int8 AS n FROM ${quote(name)}`);
        if (row!.n > 0) occupied.push({ name, rows: row!.n });
      }
      if (occupied.length > 0) throw new TargetNotEmptyError(occupied);

      const copied: CopiedTable[] = [];
      for (const table of tables) {
        const select = sqlite.query<Record<string, unknown>, []>(`SELECT ${table.columns.map(quote).join(", ")} FROM ${quote(table.name)}`);
        const batchSize = Math.max(1, Math.floor(PARAMETERS_PER_INSERT / table.columns.length));
        let batch: Record<string, unknown>[] = [];
        let characters = 0;
        let rows = 0;
        const flush = async () => {
          if (batch.length === 0) return;
          await tx`INSERT INTO ${tx(table.name)} ${tx(batch as Record<string, string | number | null>[], table.columns)}`;
          rows += batch.length;
          batch = [];
          characters = 0;
        };
        for (const row of select.iterate()) {
          batch.push(row);
          for (const value of Object.values(row)) if (typeof value === "string") characters += value.length;
          if (batch.length >= batchSize || characters >= CHARACTERS_PER_INSERT) await flush();
        }
        await flush();
        const [check] = await tx.unsafe<{ n: number }[]>(`SELECT count(*)::int8 AS n FROM ${quote(table.name)}`);
        if (check!.n !== rows) throw new Error(`${table.name}: ${rows} rows read from SQLite but ${check!.n} in PostgreSQL`);
        for (const column of table.identityColumns) {
          const [max] = await tx.unsafe<{ n: number | null }[]>(`SELECT max(${quote(column)})::int8 AS n FROM ${quote(table.name)}`);
          const last = Math.max(max!.n ?? 0, sqliteSequence(sqlite, table.name));
          if (last > 0) await tx`SELECT setval(pg_get_serial_sequence(${quote(table.name)}, ${column}), ${last})`;
        }
        copied.push({ name: table.name, rows });
      }
      return copied;
    });
  } finally {
    sqlite.exec("ROLLBACK");
  }
}

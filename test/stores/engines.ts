/**
 * The two storage engines side by side, for suites that run the same behaviour on both: a fresh
 * migrated SQLite file, or a fresh migrated PostgreSQL database on the test cluster
 * (test/pg/cluster.ts). `run` drives an Op as its engine does: runSync on SQLite, runAsync on
 * PostgreSQL. `transaction` runs operations in one transaction the engine's way.
 */
import { join } from "node:path";
import { openDatabase, relaxedTransaction, type OpenDatabase } from "../../src/db/index.ts";
import { runAsync, runSync, type Op } from "../../src/db/op.ts";
import { openPostgres, type OpenPostgres } from "../../src/db/pg/index.ts";
import { PgSession } from "../../src/db/pg/session.ts";
import { tempDir } from "../helpers.ts";
import { freshDatabase } from "../pg/cluster.ts";

export type EngineName = "sqlite" | "postgres";
export const ENGINES: EngineName[] = ["sqlite", "postgres"];

export interface Engine {
  name: EngineName;
  run<T>(op: Op<T>): Promise<T>;
  transaction<T>(fn: () => Op<T>): Promise<T>;
  /** Plain SQL for a test's own checks (`$1` parameters work on both). */
  query<T>(text: string, params?: unknown[]): Promise<T[]>;
  sqlite?: OpenDatabase;
  postgres?: { open: OpenPostgres; session: PgSession };
  close(): Promise<void>;
}

export async function openEngine(name: EngineName, label: string): Promise<Engine> {
  if (name === "sqlite") {
    const dir = tempDir(`timbre-${label}-`);
    const database = openDatabase(join(dir.path, "timbre.db"));
    return {
      name,
      sqlite: database,
      run: async (op) => runSync(op),
      transaction: async (fn) => relaxedTransaction(database.sqlite, () => runSync(fn())),
      query: async <T>(text: string, params: unknown[] = []) => database.sqlite.prepare(text.replace(/\$(\d+)/g, "?$1")).all(...(params as never[])) as T[],
      async close() {
        database.close();
        dir.cleanup();
      },
    };
  }
  const open = await openPostgres(await freshDatabase(label.replace(/\W/g, "_"), { migrated: true }));
  const session = new PgSession(open.sql);
  return {
    name,
    postgres: { open, session },
    run: (op) => runAsync(op),
    transaction: (fn) => session.begin(() => runAsync(fn())),
    query: async <T>(text: string, params: unknown[] = []) => (await open.sql.unsafe(text, params as never[])) as unknown as T[],
    close: () => open.close(),
  };
}

import { sql } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Db } from "./index.ts";

/** Rows of `table` per value of its status column; every status in `zero` appears, 0 when absent. */
export function countByStatus<S extends string>(db: Db, table: SQLiteTable, status: SQLiteColumn, zero: Record<S, 0>): Record<S, number> {
  const out: Record<S, number> = { ...zero };
  const rows = db.select({ status: status, n: sql<number>`count(*)` }).from(table).groupBy(status).all();
  for (const row of rows) out[row.status as S] = row.n;
  return out;
}

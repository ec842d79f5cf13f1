import { expect, test } from "bun:test";
import { is } from "drizzle-orm";
import { getTableConfig as pgTableConfig, PgTable } from "drizzle-orm/pg-core";
import { getTableConfig as sqliteTableConfig, SQLiteTable } from "drizzle-orm/sqlite-core";
import * as pgSchema from "../../src/db/pg/schema.ts";
import * as sqliteSchema from "../../src/db/schema.ts";

/** Tables only PostgreSQL has: coordination between instances, which one SQLite instance never needs. */
const PG_ONLY_TABLES = ["leases", "rate_limits"];
/** Indexes only PostgreSQL has: an instance adopting a chat reads that chat's unsent messages and received updates. */
const PG_ONLY_INDEXES = ["outbox_chat_idx", "updates_received_of_chat_idx"];

/** The engine-neutral shape of a table: what the stores rely on being the same on both engines. */
function shape(config: {
  name: string;
  columns: { name: string; notNull: boolean; primary: boolean; hasDefault: boolean; default?: unknown; columnType: string; getSQLType(): string }[];
  indexes: { config: { name?: string; columns: unknown[]; unique: boolean } }[];
  primaryKeys: { columns: { name: string }[] }[];
}) {
  return {
    name: config.name,
    columns: config.columns
      .map((c) => ({
        name: c.name,
        kind: /int|serial/i.test(c.getSQLType()) ? "integer" : c.getSQLType().toLowerCase(),
        notNull: c.notNull,
        primary: c.primary,
        default: c.default,
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    indexes: config.indexes
      .map((i) => ({ name: i.config.name, unique: i.config.unique, columns: i.config.columns.map((c) => (c as { name: string }).name) }))
      .sort((a, b) => String(a.name).localeCompare(String(b.name))),
    primaryKeys: config.primaryKeys.map((k) => k.columns.map((c) => c.name)),
  };
}

const sqliteTables = (Object.values(sqliteSchema) as unknown[]).filter((v): v is SQLiteTable => is(v, SQLiteTable)).map((t) => shape(sqliteTableConfig(t)));
const pgTables = (Object.values(pgSchema) as unknown[]).filter((v): v is PgTable => is(v, PgTable)).map((t) => shape(pgTableConfig(t)));

test("the schemas are read: every SQLite table is seen (a failing filter would make the parity checks vacuous)", () => {
  expect(sqliteTables.map((t) => t.name)).toEqual(expect.arrayContaining(["updates", "settings", "outbox", "runs", "run_steps", "memories", "parked_updates"]));
  expect(sqliteTables.length).toBeGreaterThanOrEqual(10);
});

test("every SQLite table has a PostgreSQL twin, and PostgreSQL has no other table but its own coordination ones", () => {
  const pgNames = pgTables.map((t) => t.name).sort();
  expect(pgNames).toEqual([...sqliteTables.map((t) => t.name), ...PG_ONLY_TABLES].sort());
});

for (const table of sqliteTables) {
  test(`${table.name}: the same columns (names, integer or text, not null, defaults), primary keys and indexes on PostgreSQL`, () => {
    const twin = pgTables.find((t) => t.name === table.name)!;
    expect({ ...twin, indexes: twin.indexes.filter((i) => !PG_ONLY_INDEXES.includes(String(i.name))) }).toEqual(table);
  });
}

test("the PostgreSQL-only indexes exist there and not on SQLite", () => {
  for (const name of PG_ONLY_INDEXES) {
    expect(pgTables.some((t) => t.indexes.some((i) => i.name === name))).toBe(true);
    expect(sqliteTables.some((t) => t.indexes.some((i) => i.name === name))).toBe(false);
  }
});

test("leases: name is the key; holder, a fencing token and an expiry, all required", () => {
  const leases = pgTables.find((t) => t.name === "leases")!;
  expect(leases.columns).toEqual([
    { name: "expires_at", kind: "integer", notNull: true, primary: false, default: undefined },
    { name: "holder", kind: "text", notNull: true, primary: false, default: undefined },
    { name: "name", kind: "text", notNull: true, primary: true, default: undefined },
    { name: "token", kind: "integer", notNull: true, primary: false, default: undefined },
  ]);
});

test("rate_limits: name is the key; the theoretical arrival time, required", () => {
  const rateLimits = pgTables.find((t) => t.name === "rate_limits")!;
  expect(rateLimits.columns).toEqual([
    { name: "name", kind: "text", notNull: true, primary: true, default: undefined },
    { name: "tat", kind: "integer", notNull: true, primary: false, default: undefined },
  ]);
});

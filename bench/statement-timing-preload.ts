// Preloaded into a timbre process by bench/statement-timing.ts: times every bun:sqlite statement
// the process runs, by its SQL, and writes the totals to $STATEMENT_TIMING_OUT on SIGUSR2.
import { Database } from "bun:sqlite";
import { writeFileSync } from "node:fs";

const totals = new Map<string, { calls: number; ns: number }>();
const timed = new WeakSet<object>();

// A statement's methods are its own properties, and bun:sqlite may hand the same statement out
// again for the same SQL: each is wrapped once.
function time<S extends object>(statement: S, sql: string): S {
  if (timed.has(statement)) return statement;
  timed.add(statement);
  for (const method of ["run", "get", "all", "values"] as const) {
    const original = (statement as Record<string, (...args: unknown[]) => unknown>)[method];
    if (typeof original !== "function") continue;
    const key = `${method} ${sql.replace(/\s+/g, " ").trim().slice(0, 90)}`;
    (statement as Record<string, unknown>)[method] = (...args: unknown[]) => {
      const started = Bun.nanoseconds();
      try {
        return original.apply(statement, args);
      } finally {
        const total = totals.get(key) ?? { calls: 0, ns: 0 };
        total.calls++;
        total.ns += Bun.nanoseconds() - started;
        totals.set(key, total);
      }
    };
  }
  return statement;
}

for (const name of ["prepare", "query"] as const) {
  const original = Database.prototype[name] as (this: Database, sql: string, ...rest: unknown[]) => object;
  (Database.prototype as unknown as Record<string, unknown>)[name] = function (this: Database, sql: string, ...rest: unknown[]) {
    return time(original.call(this, sql, ...rest), sql);
  };
}

process.on("SIGUSR2", () => {
  const rows = [...totals.entries()].sort((a, b) => b[1].ns - a[1].ns);
  writeFileSync(process.env.STATEMENT_TIMING_OUT ?? "statement-timing.json", JSON.stringify(rows.map(([sql, t]) => ({ sql, ...t }))));
});

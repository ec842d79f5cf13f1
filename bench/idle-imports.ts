// One step of bench/memory-floor.ts's idle table, in a process of its own: loads the libraries of
// steps 0..N (nothing is imported statically, so only those), collects, settles, prints its RSS.
//   bun bench/idle-imports.ts <step> <folder for a scratch SQLite file>
import type { Database as SqliteDatabase } from "bun:sqlite";

export const STEPS = [
  "bare Bun (an interval keeps it alive)",
  "+ bun:sqlite file (WAL) and Bun.serve",
  "+ elysia",
  "+ drizzle-orm/bun-sqlite",
  "+ prom-client (timbre's Metrics, default series on)",
  "+ @elysiajs/swagger",
  "+ the rest of src/app.ts (imported, not started)",
];

const loads: ((folder: string) => Promise<unknown>)[] = [
  async () => {},
  async (folder) => {
    const { Database } = await import("bun:sqlite");
    const db: SqliteDatabase = new Database(`${folder}/idle.db`, { create: true });
    db.exec("PRAGMA journal_mode = WAL");
    Object.assign(globalThis, { kept: [db, Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok") })] });
  },
  () => import("elysia"),
  () => import("drizzle-orm/bun-sqlite"),
  async () => {
    const { Metrics } = await import("../src/observability/metrics.ts");
    Object.assign(globalThis, { metrics: new Metrics() });
  },
  () => import("@elysiajs/swagger"),
  () => import("../src/app.ts"),
];

if (import.meta.main) {
  const upTo = Number(process.argv[2]);
  for (const load of loads.slice(0, upTo + 1)) await load(process.argv[3]!);
  setInterval(() => {}, 1000);
  await Bun.sleep(1000);
  Bun.gc(true);
  await Bun.sleep(1500);
  const { readFileSync } = await import("node:fs");
  const rollup = readFileSync("/proc/self/smaps_rollup", "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(rollup)![1]);
  console.log(JSON.stringify({ rss: kb("Rss"), anonymous: kb("Anonymous") }));
  process.exit(0);
}

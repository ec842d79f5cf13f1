// What bench/memory.ts reads of the service it measures: RSS and peak, CPU time, idle
// collections from /metrics, the database's rows and pages; and the statistics it reports.
import { readFileSync, statSync } from "node:fs";
import type { SpawnedService } from "../test/helpers.ts";
import { readDb } from "../test/runtime/support.ts";

export interface Rss {
  rss: number;
  peak: number;
}

/** CPU seconds (user + system, every thread) the process has used, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export interface Collections {
  count: number;
  seconds: number;
}

/** The service's idle collections so far, from its /metrics. */
export async function collections(service: SpawnedService): Promise<Collections> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? 0);
  return { count: value("timbre_idle_collections_total"), seconds: value("timbre_idle_collection_seconds_total") };
}

/** "N collections, X ms in all (Y µs per update)" for a phase that handled `updates`. */
export function collectionNote(c: Collections, updates: number): string {
  return `${c.count} idle collections, ${(c.seconds * 1000).toFixed(0)} ms in all (${((c.seconds * 1e6) / updates).toFixed(1)} µs per update)`;
}

export function rssMb(pid: number): Rss {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rss: +(kb("VmRSS") / 1024).toFixed(1), peak: +(kb("VmHWM") / 1024).toFixed(1) };
}

export interface DbState {
  updates: number;
  payloads: number;
  runs: number;
  runSteps: number;
  outbox: number;
  pages: number;
  freePages: number;
  fileMb: number;
}

export function dbState(path: string): DbState {
  const one = (sql: string) => readDb<{ n: number }>(path, sql)[0]!.n;
  const size = (file: string) => {
    try {
      return statSync(file).size;
    } catch {
      return 0;
    }
  };
  return {
    updates: one("SELECT count(*) AS n FROM updates"),
    payloads: one("SELECT count(*) AS n FROM updates WHERE payload IS NOT NULL"),
    runs: one("SELECT count(*) AS n FROM runs"),
    runSteps: one("SELECT count(*) AS n FROM run_steps"),
    outbox: one("SELECT count(*) AS n FROM outbox"),
    pages: one("SELECT page_count AS n FROM pragma_page_count()"),
    freePages: one("SELECT freelist_count AS n FROM pragma_freelist_count()"),
    fileMb: +((size(path) + size(`${path}-wal`)) / 1024 / 1024).toFixed(1),
  };
}

/** Least-squares slope of ys against xs: MB of RSS per prune cycle. */
export const slope = (xs: number[], ys: number[]) => {
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  const num = xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0);
  const den = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
};
export const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

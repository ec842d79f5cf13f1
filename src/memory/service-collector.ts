import type { Database } from "bun:sqlite";
import { releaseCacheMemory } from "../db/release-memory.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import type { Metrics } from "../observability/metrics.ts";
import { DEFAULT_IDLE_COLLECTOR, IdleCollector, processReadings, type ProcessReadings } from "./idle-collector.ts";

/**
 * The service's idle collector (not started): in timbre a collection is a full garbage
 * collection, then SQLite's release of its clean cached pages (none on PostgreSQL: `sqlite`
 * undefined), each counted in /metrics.
 */
export function serviceIdleCollector(sqlite: Database | undefined, metrics: Metrics, log: Logger, readings: ProcessReadings = processReadings): IdleCollector {
  const collections = metrics.counter("timbre_idle_collections_total", "Full garbage collections run because the process went quiet after work.");
  const seconds = metrics.counter("timbre_idle_collection_seconds_total", "Time those collections took (the event loop waits meanwhile).");
  const collect = () => {
    const started = performance.now();
    Bun.gc(true);
    try {
      if (sqlite) releaseCacheMemory(sqlite);
    } catch (error) {
      // A closed or failing database: the garbage collection still happened and counts.
      log.warn("memory: SQLite could not release its cache", errorFields(error));
    }
    collections.inc();
    seconds.inc({}, (performance.now() - started) / 1000);
  };
  return new IdleCollector(collect, DEFAULT_IDLE_COLLECTOR, readings);
}

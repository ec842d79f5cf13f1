import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { openDatabase } from "../../src/db/index.ts";
import { serviceIdleCollector } from "../../src/memory/service-collector.ts";
import { Metrics } from "../../src/observability/metrics.ts";
import { tempDir } from "../helpers.ts";
import { parsePrometheusText, sampleValue } from "../observability/prom-text.ts";
import { capturingLogger } from "../runtime/support.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

const MB = 1024 * 1024;

/** Readings of a process that stays quiet while its RSS is set by the test. */
function quietProcess() {
  const state = { rss: 70 * MB, now: 0 };
  return { state, readings: { rss: () => state.rss, cpuMicros: () => 0, now: () => (state.now += 250) } };
}

test("a collection is counted in /metrics, and a database closed underneath is logged, not thrown", async () => {
  const database = openDatabase(join(dir.path, "collector.db"));
  const metrics = new Metrics();
  const log = capturingLogger();
  const { state, readings } = quietProcess();
  const collector = serviceIdleCollector(database.sqlite, metrics, log, readings);
  state.rss = 80 * MB;
  expect(collector.check().kind).toBe("collected");
  expect(log.lines).toEqual([]);

  database.close();
  state.rss = 90 * MB;
  expect(collector.check().kind).toBe("collected");
  expect(log.lines).toEqual([expect.objectContaining({ level: "warn", msg: "memory: SQLite could not release its cache" })]);

  const families = parsePrometheusText(await metrics.render());
  expect(sampleValue(families, "timbre_idle_collections_total")).toBe(2);
  expect(sampleValue(families, "timbre_idle_collection_seconds_total")).toBeGreaterThan(0);
});

import { expect, test } from "bun:test";
import { IdleCollector, type IdleCollectorSettings, type ProcessReadings } from "../../src/memory/idle-collector.ts";

const MB = 1024 * 1024;
const SETTINGS: IdleCollectorSettings = { everyMs: 250, quietCpuShare: 0.1, growthBytes: 4 * MB };

/**
 * A process whose RSS, CPU time and clock the test sets. A collection drops RSS to
 * `rssAfterCollect` and takes `collectMs` of CPU.
 */
function scriptedProcess(startRss: number) {
  const state = { rss: startRss, cpuMicros: 0, now: 0, rssAfterCollect: startRss, collectMs: 0, collects: 0 };
  const readings: ProcessReadings = { rss: () => state.rss, cpuMicros: () => state.cpuMicros, now: () => state.now };
  const collector = new IdleCollector(
    () => {
      state.collects++;
      state.now += state.collectMs;
      state.cpuMicros += state.collectMs * 1000;
      state.rss = state.rssAfterCollect;
    },
    SETTINGS,
    readings,
  );
  /** `ms` pass, of which the process spent `cpuMs` on a CPU, and RSS becomes `rss`. */
  const pass = (ms: number, cpuMs: number, rss = state.rss) => {
    state.now += ms;
    state.cpuMicros += cpuMs * 1000;
    state.rss = rss;
  };
  return { state, collector, pass };
}

test("a quiet look after RSS grew by the threshold collects once, and RSS after it is the new baseline", () => {
  const { state, collector, pass } = scriptedProcess(70 * MB);
  pass(250, 5, 100 * MB);
  state.rssAfterCollect = 80 * MB;
  expect(collector.check()).toMatchObject({ kind: "collected", rssBefore: 100 * MB, rssAfter: 80 * MB });
  expect(state.collects).toBe(1);
  // Quiet again, but RSS has not grown since: nothing to do.
  pass(250, 0);
  expect(collector.check()).toEqual({ kind: "grown-too-little", grownBytes: 0 });
  pass(250, 0, 83 * MB);
  expect(collector.check()).toEqual({ kind: "grown-too-little", grownBytes: 3 * MB });
  pass(250, 0, 84 * MB);
  expect(collector.check().kind).toBe("collected");
  expect(state.collects).toBe(2);
  expect(collector.collections).toBe(2);
});

test("a busy look never collects, however much RSS grew; the first quiet one after it does", () => {
  const { state, collector, pass } = scriptedProcess(70 * MB);
  pass(250, 250, 140 * MB);
  expect(collector.check()).toEqual({ kind: "busy", cpuShare: 1 });
  pass(250, 30);
  expect(collector.check()).toMatchObject({ kind: "busy" });
  expect(state.collects).toBe(0);
  pass(250, 20);
  expect(collector.check().kind).toBe("collected");
});

test("growth counts from the lowest RSS seen since the last collection (the allocator returns pages late)", () => {
  const { state, collector, pass } = scriptedProcess(90 * MB);
  pass(250, 0, 75 * MB);
  expect(collector.check()).toEqual({ kind: "grown-too-little", grownBytes: 0 });
  pass(250, 0, 80 * MB);
  expect(collector.check().kind).toBe("collected");
  expect(state.collects).toBe(1);
});

test("the collection's own CPU time does not make the next look busy", () => {
  const { state, collector, pass } = scriptedProcess(70 * MB);
  state.collectMs = 30;
  state.rssAfterCollect = 72 * MB;
  pass(250, 0, 90 * MB);
  expect(collector.check()).toMatchObject({ kind: "collected", ms: 30 });
  pass(250, 0, 95 * MB);
  expect(collector.check().kind).toBe("collected");
  expect(collector.collectMs).toBe(60);
});

test("started, it looks at the process on a timer", async () => {
  let looks = 0;
  const collector = new IdleCollector(() => {}, { ...SETTINGS, everyMs: 5 }, {
    rss: () => {
      looks++;
      return 0;
    },
    cpuMicros: () => 0,
    now: () => performance.now(),
  });
  collector.start();
  const deadline = Date.now() + 5000;
  while (looks < 3 && Date.now() < deadline) await Bun.sleep(5);
  collector.stop();
  expect(looks).toBeGreaterThanOrEqual(3);
});

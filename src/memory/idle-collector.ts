/**
 * What the collector reads of the process; a parameter so tests can drive it.
 * `processReadings` reads the real process.
 */
export interface ProcessReadings {
  /** Resident set size, in bytes. */
  rss(): number;
  /** CPU time the process has used since it started (every thread), in microseconds. */
  cpuMicros(): number;
  /** A monotonic time in milliseconds. */
  now(): number;
}

export const processReadings: ProcessReadings = {
  rss: () => process.memoryUsage.rss(),
  cpuMicros: () => {
    const used = process.cpuUsage();
    return used.user + used.system;
  },
  now: () => performance.now(),
};

export interface IdleCollectorSettings {
  /** How often the process is looked at (default 250 ms). */
  everyMs: number;
  /** The process is quiet when it used less CPU than this share of one core since the last look (default 0.1). */
  quietCpuShare: number;
  /** RSS grown by at least this since the last collection (or the lowest RSS seen since) makes a quiet look collect (default 4 MiB). */
  growthBytes: number;
}

export const DEFAULT_IDLE_COLLECTOR: IdleCollectorSettings = { everyMs: 250, quietCpuShare: 0.1, growthBytes: 4 * 1024 * 1024 };

/** What one look found: busy and grown-too-little leave memory alone. */
export type IdleCheck =
  | { kind: "busy"; cpuShare: number }
  | { kind: "grown-too-little"; grownBytes: number }
  | { kind: "collected"; rssBefore: number; rssAfter: number; ms: number };

/**
 * Gives memory back once a burst of work is over. JavaScriptCore runs a full collection only
 * once its heap is far past what is live (30–35 MB of heap for 9 MB live, under echo load), and
 * until then the garbage of a burst, and the native buffers its objects own (requests,
 * responses, fetches), stay resident: after 10,000 echoed updates timbre sat some 25 MB above
 * what it holds live, for about 10 s. So every `everyMs` the collector looks at the process;
 * when it was quiet since the last look and RSS has grown by `growthBytes` since the last
 * collection, it runs `collect` (a full garbage collection, then the caches' release).
 * Collecting only when quiet keeps the pause (15–50 ms) out of busy periods: under sustained
 * load JavaScriptCore's own schedule applies. Idle costs two cheap readings per look; there is
 * at most one collection per `growthBytes` of growth.
 */
export class IdleCollector {
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastCpu: number;
  private lastAt: number;
  /** RSS after the last collection, or lower if it fell since (the allocator returns pages late). */
  private baseline: number;
  /** Collections made, and the milliseconds they took (metrics, the memory benchmark). */
  collections = 0;
  collectMs = 0;

  constructor(
    /** A full collection and the release of caches (app.ts: Bun.gc(true), then SQLite's). */
    private readonly collect: () => void,
    private readonly settings: IdleCollectorSettings = DEFAULT_IDLE_COLLECTOR,
    private readonly readings: ProcessReadings = processReadings,
  ) {
    this.lastCpu = readings.cpuMicros();
    this.lastAt = readings.now();
    this.baseline = readings.rss();
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.check(), this.settings.everyMs);
    // Never what keeps the process alive.
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One look: collects when the process was quiet since the last look and RSS has grown enough. */
  check(): IdleCheck {
    const cpu = this.readings.cpuMicros();
    const at = this.readings.now();
    const cpuShare = (cpu - this.lastCpu) / 1000 / Math.max(1, at - this.lastAt);
    this.lastCpu = cpu;
    this.lastAt = at;
    const rssBefore = this.readings.rss();
    this.baseline = Math.min(this.baseline, rssBefore);
    if (cpuShare >= this.settings.quietCpuShare) return { kind: "busy", cpuShare };
    const grownBytes = rssBefore - this.baseline;
    if (grownBytes < this.settings.growthBytes) return { kind: "grown-too-little", grownBytes };
    this.collect();
    const ms = this.readings.now() - at;
    const rssAfter = this.readings.rss();
    this.collections++;
    this.collectMs += ms;
    this.baseline = rssAfter;
    // The collection's own CPU does not make the next look busy.
    this.lastCpu = this.readings.cpuMicros();
    this.lastAt = this.readings.now();
    return { kind: "collected", rssBefore, rssAfter, ms };
  }
}

// One measured load on an echo server, as bench/versus-gramio.ts and bench/worker-floors.ts
// report it: a 2 s warm-up on other update ids, then wrk for `seconds`; acks/s, p50/p99,
// echoes/s and whether they kept up, CPU µs per acked update (the process's utime+stime over
// the load and the drain, every thread) and peak RSS (VmHWM).
import { BENCH_SECRET, cpuMicros, peakRssMb, wrk, type Child, type FastBotApi, type WrkResult } from "./lib.ts";

export interface Row {
  name: string;
  load: WrkResult;
  echoes: number | undefined;
  echoesPerSecond: number | undefined;
  keptUp: boolean | undefined;
  cpuMicrosPerUpdate: number;
  peakRssMb: number;
}

export interface Load {
  api: FastBotApi;
  seconds: number;
  connections: number;
}

export async function measure({ api, seconds, connections }: Load, name: string, child: Child, echoes: boolean, drainMs: number): Promise<Row> {
  const env = { WEBHOOK_SECRET: BENCH_SECRET };
  wrk(child.url, connections, 2, { ...env, BENCH_ID_BASE: "900000000000" });
  await api.settle(1000, 30_000);
  await api.resetStats();
  const cpuBefore = cpuMicros(child.proc.pid);
  const startedAt = Date.now();
  const load = wrk(child.url, connections, seconds, { ...env, BENCH_ID_BASE: "1" });
  const endedAt = Date.now();
  const acked = load.requests - load.errors;
  let sent = 0;
  let keptUp: boolean | undefined;
  if (echoes) {
    keptUp = await api.echoesKeptUp(acked, endedAt, drainMs);
    sent = (await api.stats()).sent;
  }
  const { lastSentAt } = await api.stats();
  const cpu = cpuMicros(child.proc.pid) - cpuBefore;
  const echoWindow = (Math.max(endedAt, lastSentAt) - startedAt) / 1000;
  return {
    name,
    load,
    echoes: echoes ? sent : undefined,
    echoesPerSecond: echoes ? Math.min(sent, acked) / echoWindow : undefined,
    keptUp,
    cpuMicrosPerUpdate: cpu / Math.max(1, acked),
    peakRssMb: peakRssMb(child.proc.pid),
  };
}

export const fmt = (n: number | undefined, digits = 0) => (n === undefined ? "—" : n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }));

/** The rows as a Markdown table. */
export function printRows(rows: Row[]): void {
  console.log("| server | acks/s | p50 ms | p99 ms | echoes/s | echoes kept up | CPU µs per update | peak RSS MB |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const r of rows) {
    const kept = r.keptUp === undefined ? "—" : r.keptUp ? "yes" : `no (${fmt(r.echoes)} of ${fmt(r.load.requests - r.load.errors)})`;
    console.log(`| ${r.name} | ${fmt(r.load.requestsPerSecond)} | ${fmt(r.load.p50Ms, 2)} | ${fmt(r.load.p99Ms, 2)} | ${fmt(r.echoesPerSecond)} | ${kept} | ${fmt(r.cpuMicrosPerUpdate)} | ${fmt(r.peakRssMb, 1)} |`);
  }
}

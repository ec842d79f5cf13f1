// Ingest benchmark: POST /telegram/webhook requests/s and p50/p99 with distinct update ids,
// against a bare Bun.serve that parses JSON, measured in the same run with the same wrk script.
// A third server, the durable floor (bench/durable-floor-server.ts), shows what a FULL commit
// before each answer costs on this machine's disk with nothing else around it.
// Usage: bun bench/ingest.ts [seconds=10] [connections=40,100]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BENCH_TOKEN, benchServiceEnv, requireWrk, startChild, warmThenWrk, type WrkResult } from "./lib.ts";

requireWrk();
const seconds = Number(process.argv[2] ?? 10);
const connectionsList = (process.argv[3] ?? "40,100").split(",").map(Number);
const bun = process.execPath;
const root = join(import.meta.dir, "..");

const emulator = await startChild([bun, join(import.meta.dir, "emulator-server.ts"), BENCH_TOKEN], {});
const bare = await startChild([bun, join(import.meta.dir, "bare-server.ts")], {});

interface Row {
  connections: number;
  bare: WrkResult;
  floor: WrkResult;
  timbre: WrkResult;
}
const rows: Row[] = [];
for (const connections of connectionsList) {
  // A fresh database per run, so every run starts from the same state.
  const dir = mkdtempSync(join(tmpdir(), "timbre-bench-"));
  const timbre = await startChild(
    [bun, join(root, "src/main.ts")],
    {
      ...benchServiceEnv(emulator.url, join(dir, "timbre.db")),
      ...(process.env.BENCH_LIFT_RATES ? { SEND_RATE_GLOBAL: "100000", SEND_RATE_PER_CHAT: "100000", SEND_CONCURRENCY: "64" } : {}),
      LOG_LEVEL: "info",
    },
    /"msg":"timbre is serving","url":"([^"]+)"/,
  );
  const bareResult = warmThenWrk(bare.url, connections, seconds);
  const floor = await startChild([bun, join(import.meta.dir, "durable-floor-server.ts"), join(dir, "floor.db")], {});
  const floorResult = warmThenWrk(floor.url, connections, seconds);
  await floor.stop();
  const timbreResult = warmThenWrk(timbre.url, connections, seconds);
  await timbre.stop();
  rmSync(dir, { recursive: true, force: true });
  rows.push({ connections, bare: bareResult, floor: floorResult, timbre: timbreResult });
}
await bare.stop();
await emulator.stop();

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
console.log(`\ningest: POST /telegram/webhook, distinct update_ids, ${seconds} s per run, wrk -t2, synchronous=FULL, AGENT=echo processing in the same process\n`);
console.log("| connections | server | requests/s | p50 ms | p99 ms | errors | ratio |");
console.log("| --- | --- | --- | --- | --- | --- | --- |");
for (const { connections, bare: b, floor: f, timbre: t } of rows) {
  const row = (name: string, r: WrkResult) =>
    console.log(`| ${connections} | ${name} | ${fmt(r.requestsPerSecond)} | ${fmt(r.p50Ms, 2)} | ${fmt(r.p99Ms, 2)} | ${r.errors} | ${fmt(r.requestsPerSecond / b.requestsPerSecond, 2)}x |`);
  row("bare Bun.serve", b);
  row("durable floor (INSERT + FULL group commit)", f);
  row("timbre", t);
}

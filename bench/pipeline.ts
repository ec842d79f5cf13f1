// Where the webhook's time goes under a flood: the same in-process service measured three ways
// with wrk (40 connections): ingest only (dispatcher stopped: store + 200), a no-op agent (ingest
// + routing + run lifecycle), and the echo agent (plus the reply through the outbox). CPU per
// update is this process's user+system time (the emulator runs in a child process).
// Usage: bun bench/pipeline.ts [seconds=5] [connections=40]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startService } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
import { silentLogger } from "../src/observability/log.ts";
import { BENCH_SECRET, BENCH_TOKEN, benchServiceEnv, requireWrk, startChild, wrkAsync } from "./lib.ts";

requireWrk();
const seconds = Number(process.argv[2] ?? 5);
const connections = Number(process.argv[3] ?? 40);
const emulator = await startChild([process.execPath, join(import.meta.dir, "emulator-server.ts"), BENCH_TOKEN], {});

type Mode = "ingest only" | "no-op agent" | "echo agent";
const rows: string[] = [];
for (const mode of ["ingest only", "no-op agent", "echo agent"] as Mode[]) {
  const dir = mkdtempSync(join(tmpdir(), "timbre-pipeline-"));
  const config = loadConfig(benchServiceEnv(emulator.url, join(dir, "timbre.db")));
  const service = await startService(config, { logger: silentLogger, ...(mode === "no-op agent" ? { agent: async () => {} } : {}) });
  if (mode === "ingest only") await service.dispatcher.stop();
  const before = process.cpuUsage();
  const result = await wrkAsync(service.url, connections, seconds, { WEBHOOK_SECRET: BENCH_SECRET, BENCH_ID_BASE: "1" });
  const cpu = process.cpuUsage(before);
  rows.push(
    `| ${mode} | ${Math.round(result.requestsPerSecond).toLocaleString("en-US")} | ${result.p50Ms.toFixed(2)} | ${result.p99Ms.toFixed(2)} | ${Math.round((cpu.user + cpu.system) / result.requests)} | ${result.errors} |`,
  );
  await service.stop();
  rmSync(dir, { recursive: true, force: true });
}
await emulator.stop();

console.log(`\npipeline: POST /telegram/webhook under wrk, ${connections} connections, ${seconds} s each, default send rates\n`);
console.log("| service | requests/s | p50 ms | p99 ms | CPU µs per request | errors |");
console.log("| --- | --- | --- | --- | --- | --- |");
for (const row of rows) console.log(row);

// What SQLite costs timbre per echoed update: timbre (AGENT=echo, send rates lifted) under wrk
// with every bun:sqlite statement timed (bench/statement-timing-preload.ts), then per statement:
// calls per update and µs per call and per update. The timing adds its own overhead; compare rows.
// Usage: bun bench/statement-timing.ts [seconds=4] [connections=40]; AGENT=./bench/reply-agent.ts for a run per update.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BENCH_SECRET, benchServiceEnv, requireWrk, startChild, startFastBotApi, wrk } from "./lib.ts";

requireWrk();
const seconds = Number(process.argv[2] ?? 4);
const connections = Number(process.argv[3] ?? 40);
const dir = mkdtempSync(join(tmpdir(), "timbre-statements-"));
const out = join(dir, "timing.json");
const api = await startFastBotApi();
const child = await startChild(
  [process.execPath, "--preload", join(import.meta.dir, "statement-timing-preload.ts"), join(import.meta.dir, "../src/main.ts")],
  {
    ...benchServiceEnv(api.url, join(dir, "timbre.db")),
    ...(process.env.AGENT ? { AGENT: process.env.AGENT } : {}),
    SEND_RATE_GLOBAL: "100000",
    SEND_RATE_PER_CHAT: "100000",
    SEND_CONCURRENCY: "64",
    LOG_LEVEL: "info",
    STATEMENT_TIMING_OUT: out,
  },
  /"msg":"timbre is serving","url":"([^"]+)"/,
);
try {
  const load = wrk(child.url, connections, seconds, { WEBHOOK_SECRET: BENCH_SECRET, BENCH_ID_BASE: "1" });
  await api.settle(1000, 30_000);
  child.proc.kill("SIGUSR2");
  await Bun.sleep(500);
  const rows = JSON.parse(readFileSync(out, "utf8")) as { sql: string; calls: number; ns: number }[];
  const updates = load.requests;
  console.log(`\nSQLite statements per echoed update: ${updates.toLocaleString("en-US")} updates, wrk -c${connections} ${seconds} s, rates lifted\n`);
  console.log("| statement | calls per update | µs per call | µs per update |\n| --- | --- | --- | --- |");
  let total = 0;
  for (const row of rows.filter((r) => r.calls >= updates / 100)) {
    total += row.ns / 1000 / updates;
    console.log(`| ${row.sql} | ${(row.calls / updates).toFixed(2)} | ${(row.ns / 1000 / row.calls).toFixed(1)} | ${(row.ns / 1000 / updates).toFixed(1)} |`);
  }
  console.log(`| all of them | | | ${total.toFixed(1)} |`);
} finally {
  await child.stop();
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
}

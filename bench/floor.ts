// What durability costs on this machine, with nothing of timbre around it: bare Bun.serve
// against the durable floor server committing with an fsync on the event loop, with the fsync
// on the thread pool, and without any fsync. Same wrk script as bench/ingest.ts.
// Usage: bun bench/floor.ts [seconds=5] [connections=40]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireWrk, startChild, warmThenWrk, type WrkResult } from "./lib.ts";

requireWrk();
const seconds = Number(process.argv[2] ?? 5);
const connections = Number(process.argv[3] ?? 40);
async function measure(cmd: string[]): Promise<WrkResult> {
  const server = await startChild(cmd, {});
  const result = warmThenWrk(server.url, connections, seconds);
  await server.stop();
  return result;
}

const bun = process.execPath;
const rows: [string, WrkResult][] = [["bare Bun.serve", await measure([bun, join(import.meta.dir, "bare-server.ts")])]];
for (const [mode, label] of [
  ["full", "floor, synchronous=FULL (fsync on the event loop)"],
  ["thread", "floor, NORMAL + WAL fdatasync on the thread pool"],
  ["off", "floor, synchronous=OFF (no fsync: not durable)"],
]) {
  const dir = mkdtempSync(join(tmpdir(), "timbre-floor-"));
  rows.push([label!, await measure([bun, join(import.meta.dir, "durable-floor-server.ts"), join(dir, "floor.db"), mode!])]);
  rmSync(dir, { recursive: true, force: true });
}

const bare = rows[0]![1].requestsPerSecond;
console.log(`\nfloor: POST /telegram/webhook, ${connections} connections, ${seconds} s per run, wrk -t2\n`);
console.log("| server | requests/s | p50 ms | p99 ms | ratio |");
console.log("| --- | --- | --- | --- | --- |");
for (const [label, r] of rows) {
  console.log(`| ${label} | ${Math.round(r.requestsPerSecond).toLocaleString("en-US")} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${(r.requestsPerSecond / bare).toFixed(2)}x |`);
}

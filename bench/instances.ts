// Several instances: acks/s and echoes/s of timbre (AGENT=echo, send rates lifted) with 1, 2 and 3
// instances on one local PostgreSQL, against one instance on SQLite on the same machine, every
// instance sending to one fast fake Bot API (bench/fast-bot-api.ts).
//
// Load: one wrk per instance at once, straight at it (bench/webhook.lua, distinct update ids, chats
// cycling over the same 1000 private chats, so instances share chats as behind a load balancer),
// the connections split evenly: the round robin of a load balancer without one in the path. The
// test's proxy (test/multi/proxy.ts) is JavaScript in one process: on a small machine it would
// take a core and be what is measured; a production balancer (nginx, HAProxy, Caddy) costs far less.
// acks/s: the sum over the wrk runs; p50 is the median of theirs, p99 the worst. echoes/s: sends
// the fake Bot API counted from the load's start to the last echo, over acked updates at most;
// "kept up": every acked update echoed within 2 s of the load's end.
//
// PostgreSQL: a throwaway cluster (test/pg/cluster.ts) set like a normal server (fsync, synchronous
// commit and full-page writes on; the settings below), a fresh database per row. A row whose
// instances do not store in PostgreSQL (DATABASE_URL ignored) fails with the reason; the table is
// printed with what worked, and the exit code is 1.
// Usage: bun bench/instances.ts [seconds=8] [connections=48] [warmup-seconds=2]
import { join } from "node:path";
import { BENCH_SECRET, benchServiceEnv, requireWrk, startFastBotApi, wrkAsync, type WrkResult } from "./lib.ts";
import { spawnService, tempDir, type SpawnedService } from "../test/helpers.ts";
import { requirePostgresMode } from "../test/multi/instances.ts";
import { startCluster, type PgCluster } from "../test/pg/cluster.ts";

requireWrk();
const seconds = Number(process.argv[2] ?? 8);
const connections = Number(process.argv[3] ?? 48);
const warmupSeconds = Number(process.argv[4] ?? 2);
const LIFTED = { SEND_RATE_GLOBAL: "100000", SEND_RATE_PER_CHAT: "100000", SEND_CONCURRENCY: "64", MAX_CONCURRENCY: "64", LOG_LEVEL: "info" };
/** A normal server's settings for a machine like this one (beside fsync, synchronous_commit and full_page_writes on). */
const SERVER_SETTINGS = {
  shared_buffers: "1GB",
  effective_cache_size: "4GB",
  wal_buffers: "16MB",
  max_wal_size: "4GB",
  min_wal_size: "1GB",
  checkpoint_completion_target: "0.9",
};

interface Row {
  database: string;
  instances: number;
  result?: { acksPerSecond: number; p50Ms: number; p99Ms: number; errors: number; echoesPerSecond: number; keptUp: boolean };
  failure?: string;
}

const api = await startFastBotApi();

/** One wrk per instance at once, `connections` split evenly, update ids disjoint per instance (`base` apart from other runs). */
async function loadAll(urls: string[], runSeconds: number, base: number): Promise<WrkResult[]> {
  return Promise.all(
    urls.map((url, i) => {
      const share = Math.max(1, Math.floor(connections / urls.length) + (i < connections % urls.length ? 1 : 0));
      return wrkAsync(url, share, runSeconds, { WEBHOOK_SECRET: BENCH_SECRET, BENCH_ID_BASE: String(base + i * 1_000_000_000) }, 1);
    }),
  );
}

async function measure(urls: string[]): Promise<NonNullable<Row["result"]>> {
  await loadAll(urls, warmupSeconds, 900_000_000_000);
  await api.settle(1000, 30_000);
  await api.resetStats();
  const startedAt = Date.now();
  const runs = await loadAll(urls, seconds, 1);
  const endedAt = Date.now();
  const acked = runs.reduce((n, r) => n + r.requests - r.errors, 0);
  const keptUp = await api.echoesKeptUp(acked, endedAt, 30_000);
  const { sent, lastSentAt } = await api.stats();
  const p50s = runs.map((r) => r.p50Ms).sort((a, b) => a - b);
  return {
    acksPerSecond: runs.reduce((n, r) => n + r.requestsPerSecond, 0),
    p50Ms: p50s[Math.floor(p50s.length / 2)]!,
    p99Ms: Math.max(...runs.map((r) => r.p99Ms)),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    echoesPerSecond: Math.min(sent, acked) / ((Math.max(endedAt, lastSentAt) - startedAt) / 1000),
    keptUp,
  };
}

const dir = tempDir("timbre-bench-instances-");
/** Starts `count` instances at once with `env(i)`; for PostgreSQL, proves they store there before the load. */
async function row(database: string, count: number, env: (i: number) => Record<string, string>, postgresUrl?: string): Promise<Row> {
  const children: SpawnedService[] = [];
  try {
    const started = await Promise.allSettled(Array.from({ length: count }, (_, i) => spawnService(env(i))));
    for (const s of started) if (s.status === "fulfilled") children.push(s.value);
    const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) throw failed.reason;
    if (postgresUrl !== undefined) await requirePostgresMode(postgresUrl, env(0).DATABASE_PATH);
    return { database, instances: count, result: await measure(children.map((c) => c.url)) };
  } catch (error) {
    return { database, instances: count, failure: (error instanceof Error ? error.message : String(error)).split("\n")[0]! };
  } finally {
    for (const child of children) await child.terminate();
  }
}

const rows: Row[] = [];
let cluster: PgCluster | undefined;
try {
  const sqlitePath = join(dir.path, "timbre.db");
  rows.push(await row("SQLite", 1, () => ({ ...benchServiceEnv(api.url, sqlitePath), ...LIFTED })));
  let clusterFailure: string | undefined;
  try {
    cluster = await startCluster({ settings: SERVER_SETTINGS });
  } catch (error) {
    clusterFailure = `PostgreSQL did not start: ${(error instanceof Error ? error.message : String(error)).split("\n")[0]}`;
  }
  for (const count of [1, 2, 3]) {
    if (!cluster) {
      rows.push({ database: "PostgreSQL", instances: count, failure: clusterFailure! });
      continue;
    }
    const databaseUrl = await cluster.createDatabase(`bench ${count}`);
    // DATABASE_PATH of each its own: unused in PostgreSQL mode, and keeps a service that ignores DATABASE_URL apart.
    rows.push(await row("PostgreSQL", count, (i) => ({ ...benchServiceEnv(api.url, join(dir.path, `pg-${count}-${i}-unused.db`)), ...LIFTED, DATABASE_URL: databaseUrl }), databaseUrl));
  }
} finally {
  await cluster?.stop();
  await api.stop();
  dir.cleanup();
}

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
console.log(`\ninstances: POST /telegram/webhook straight to each instance (one wrk -t1 each, ${connections} connections in all), ${seconds} s after a ${warmupSeconds} s warm-up, AGENT=echo, send rates lifted, durable commits on both engines\n`);
console.log("| database | instances | acks/s | p50 ms | p99 ms | errors | echoes/s | kept up |");
console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
for (const { database, instances, result, failure } of rows) {
  if (result) {
    const { acksPerSecond, p50Ms, p99Ms, errors, echoesPerSecond, keptUp } = result;
    console.log(`| ${database} | ${instances} | ${fmt(acksPerSecond)} | ${fmt(p50Ms, 2)} | ${fmt(p99Ms, 2)} | ${errors} | ${fmt(echoesPerSecond)} | ${keptUp ? "yes" : "no"} |`);
  } else console.log(`| ${database} | ${instances} | failed: ${failure!.replaceAll("|", "\\|")} | | | | | |`);
}
process.exit(rows.every((r) => r.result) ? 0 : 1);

// Side by side in one run: a bare Bun.serve, the durable floor, the durable echo floor, GramIO's webhookHandler echoing
// every text, and timbre (AGENT=echo) at its default send rates and with the rates lifted, all
// against the same fast fake Bot API (bench/fast-bot-api.ts), driven by wrk (bench/webhook.lua:
// distinct update ids over 1000 private chats). Each server runs alone in its own process.
// Reported per server: acks/s, p50/p99 of the webhook answer, echoes/s and whether the echoes
// kept up (every acked update echoed within 2 s of the load's end), CPU µs per update (the
// server's utime+stime over the load and the drain, divided by updates acked) and peak RSS (VmHWM).
// Usage: bun bench/versus-gramio.ts [seconds=8] [connections=40]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fmt, measure, printRows, type Row } from "./echo-measure.ts";
import { BENCH_SECRET, BENCH_TOKEN, benchServiceEnv, requireWrk, startChild, startFastBotApi, type Child } from "./lib.ts";

requireWrk();
const seconds = Number(process.argv[2] ?? 8);
const connections = Number(process.argv[3] ?? 40);
const bun = process.execPath;
const root = join(import.meta.dir, "..");
const api = await startFastBotApi();

async function timbre(dir: string, lifted: boolean): Promise<Child> {
  return startChild(
    [bun, join(root, "src/main.ts")],
    {
      ...benchServiceEnv(api.url, join(dir, lifted ? "lifted.db" : "default.db")),
      ...(lifted ? { SEND_RATE_GLOBAL: "100000", SEND_RATE_PER_CHAT: "100000", SEND_CONCURRENCY: "64" } : {}),
      LOG_LEVEL: "info",
    },
    /"msg":"timbre is serving","url":"([^"]+)"/,
  );
}

const dir = mkdtempSync(join(tmpdir(), "timbre-versus-"));
const rows: Row[] = [];
try {
  const systems: [string, () => Promise<Child>, boolean, number][] = [
    ["bare Bun.serve (parses JSON, stores nothing)", () => startChild([bun, join(import.meta.dir, "bare-server.ts")], {}), false, 0],
    ["durable floor (INSERT + FULL group commit)", () => startChild([bun, join(import.meta.dir, "durable-floor-server.ts"), join(dir, "floor.db")], {}), false, 0],
    ["durable echo floor (update + reply in one FULL commit, sent marks relaxed)", () => startChild([bun, join(import.meta.dir, "durable-echo-floor-server.ts"), join(dir, "echo-floor.db"), api.url, BENCH_TOKEN], {}), true, 30_000],
    ["GramIO webhookHandler, echo", () => startChild([bun, join(import.meta.dir, "gramio-peer.ts"), api.url, BENCH_TOKEN, BENCH_SECRET], {}), true, 30_000],
    ["timbre, AGENT=echo, default send rates", () => timbre(dir, false), true, 3_000],
    ["timbre, AGENT=echo, send rates lifted", () => timbre(dir, true), true, 30_000],
  ];
  for (const [name, start, echoes, drainMs] of systems) {
    const child = await start();
    try {
      rows.push(await measure({ api, seconds, connections }, name, child, echoes, drainMs));
    } finally {
      await child.stop();
    }
  }
} finally {
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
}

console.log(`\nside by side: wrk -t2 -c${connections}, ${seconds} s per server, distinct update ids over 1000 chats, the same fast fake Bot API\n`);
printRows(rows);
const gramio = rows.find((r) => r.name.startsWith("GramIO"))!;
const lifted = rows.find((r) => r.name.endsWith("lifted"))!;
const byDefault = rows.find((r) => r.name.endsWith("default send rates"))!;
const echoFloor = rows.find((r) => r.name.startsWith("durable echo floor"))!;
const ratio = (a: number | undefined, b: number | undefined) => `${fmt(a! / b!, 2)}x`;
console.log("\n| timbre / GramIO | acks/s | echoes/s (rates lifted) | p99 (lower is better) | CPU per echoed update (lower is better) | peak RSS |");
console.log("| --- | --- | --- | --- | --- | --- |");
console.log(
  `| ratio | ${fmt(byDefault.load.requestsPerSecond / gramio.load.requestsPerSecond, 2)}x default, ${fmt(lifted.load.requestsPerSecond / gramio.load.requestsPerSecond, 2)}x lifted | ${fmt(lifted.echoesPerSecond! / gramio.echoesPerSecond!, 2)}x | ${fmt(lifted.load.p99Ms / gramio.load.p99Ms, 2)}x | ${fmt(lifted.cpuMicrosPerUpdate / gramio.cpuMicrosPerUpdate, 2)}x | ${fmt(lifted.peakRssMb, 1)} MB vs ${fmt(gramio.peakRssMb, 1)} MB |`,
);
// What durability costs (echo floor / GramIO), and how far timbre is from that floor.
for (const [label, of, to] of [["durable echo floor / GramIO", echoFloor, gramio], ["timbre (rates lifted) / durable echo floor", lifted, echoFloor]] as const) {
  console.log(
    `| ${label} | ${ratio(of.load.requestsPerSecond, to.load.requestsPerSecond)} | ${ratio(of.echoesPerSecond, to.echoesPerSecond)} | ${ratio(of.load.p99Ms, to.load.p99Ms)} | ${ratio(of.cpuMicrosPerUpdate, to.cpuMicrosPerUpdate)} | ${fmt(of.peakRssMb, 1)} MB vs ${fmt(to.peakRssMb, 1)} MB |`,
  );
}

// Would a Bun Worker pay on this machine? The durable echo floor three ways, each alone in its
// own process against the same fast fake Bot API: on one thread (bench/durable-echo-floor-server.ts),
// with its Bot API calls in a Worker and the main thread the only SQLite writer
// (bench/send-worker-echo-floor-server.ts), and with processing in a Worker that writes through
// its own connection (bench/split-echo-floor-server.ts: two writers). Then the one-thread and
// two-writer floors again with the replies stored and none sent (`route-only`: the webhook's work
// while the send rate is spent, as at timbre's default rates). Rounds alternate the servers.
// Usage: bun bench/worker-floors.ts [rounds=3] [seconds=8] [connections=40]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fmt, measure, printRows, type Row } from "./echo-measure.ts";
import { BENCH_TOKEN, requireWrk, startChild, startFastBotApi } from "./lib.ts";

requireWrk();
const rounds = Number(process.argv[2] ?? 3);
const seconds = Number(process.argv[3] ?? 8);
const connections = Number(process.argv[4] ?? 40);
const api = await startFastBotApi();
const load = { api, seconds, connections };

const servers: [name: string, file: string, mode: string][] = [
  ["one thread", "durable-echo-floor-server.ts", ""],
  ["sends in a Worker, one writer", "send-worker-echo-floor-server.ts", ""],
  ["processing in a Worker, two writers", "split-echo-floor-server.ts", ""],
  ["one thread, route-only", "durable-echo-floor-server.ts", "route-only"],
  ["processing in a Worker, two writers, route-only", "split-echo-floor-server.ts", "route-only"],
];

const dir = mkdtempSync(join(tmpdir(), "timbre-worker-floors-"));
const rows: Row[] = [];
try {
  for (let round = 1; round <= rounds; round++) {
    for (const [name, file, mode] of servers) {
      const database = join(dir, `${round}-${file}-${mode}.db`);
      const child = await startChild([process.execPath, join(import.meta.dir, file), database, api.url, BENCH_TOKEN, mode], {});
      try {
        rows.push(await measure(load, `${name} (round ${round})`, child, mode === "", 30_000));
      } finally {
        await child.stop();
      }
      // The two-writer floor reports on stderr how often its main thread met a busy write lock.
      const report = (await new Response(child.proc.stderr).text()).trim();
      if (report) console.log(`round ${round}, ${name}: ${report}`);
    }
  }
} finally {
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
}

console.log(`\nworker floors: wrk -t2 -c${connections}, ${seconds} s per server, ${rounds} rounds, distinct update ids over 1000 chats\n`);
printRows(rows);
console.log("\n| against the one-thread floor of the same round | acks/s | CPU per update | peak RSS |\n| --- | --- | --- | --- |");
for (const row of rows) {
  const [name, round] = row.name.split(" (round ");
  const base = rows.find((r) => r.name === `${name!.endsWith("route-only") ? "one thread, route-only" : "one thread"} (round ${round}`)!;
  if (base === row) continue;
  console.log(`| ${row.name} | ${fmt(row.load.requestsPerSecond / base.load.requestsPerSecond, 2)}x | ${fmt(row.cpuMicrosPerUpdate / base.cpuMicrosPerUpdate, 2)}x | ${fmt(row.peakRssMb - base.peakRssMb, 1)} MB more |`);
}

// Where an echoed update's CPU goes, stage by stage and thread by thread, without HTTP or wrk:
// the service runs in process (AGENT=echo, send rates lifted) against the fast fake Bot API in
// another process, and 40 callers store updates straight through the inbox, each waiting for its
// answer as a webhook would. Three stages, each in a fresh process: "stored" (the dispatcher
// stopped: insert, group commit, fsync), "routed" (the outbox stopped: plus routing and the
// reply's insert) and "echoed" (plus the outbox: marks, the sendMessage call, its record). Each
// measures after a warm-up, so JIT compilation of the first updates is left out. The
// differences between stages are what routing and the outbox cost; the threads say where
// (the event loop, Bun's HTTP client, the thread pool's fdatasync calls, JIT, GC).
// Usage: bun bench/echo-stages.ts [rounds=3] [updates=60000]
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BENCH_TOKEN, benchServiceEnv, startFastBotApi } from "./lib.ts";

const STAGES = ["stored", "routed", "echoed"] as const;
type Stage = (typeof STAGES)[number];
const IN_FLIGHT = 40;
const WARM_UP = 10_000;

/** CPU (user + system) per thread of this process, in clock ticks, by name ("event loop" for the main thread; numbers folded: "Bun Pool 3" -> "Bun Pool"). */
function threadTicks(): Map<string, number> {
  const byName = new Map<string, number>();
  for (const task of readdirSync(`/proc/${process.pid}/task`)) {
    const name = task === String(process.pid) ? "event loop" : readFileSync(`/proc/${process.pid}/task/${task}/comm`, "utf8").trim().replace(/\s*#?\d+$/, "");
    const stat = readFileSync(`/proc/${process.pid}/task/${task}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    byName.set(name, (byName.get(name) ?? 0) + Number(fields[11]) + Number(fields[12]));
  }
  return byName;
}

function update(id: number): { update: never; raw: string } {
  const chat = 1000 + (id % 1000);
  const value = { update_id: id, message: { message_id: id, date: 1_700_000_000, chat: { id: chat, type: "private", first_name: "u" }, from: { id: chat, is_bot: false, first_name: "u" }, text: `hello ${id}` } };
  return { update: value as never, raw: JSON.stringify(value) };
}

/** One stage in this process: prints a JSON line {stage, perSecond, threads: {name: µs per update}}. */
async function runStage(stage: Stage, count: number, apiUrl: string): Promise<void> {
  const { startService } = await import("../src/app.ts");
  const { loadConfig } = await import("../src/config.ts");
  const { silentLogger } = await import("../src/observability/log.ts");
  const dir = mkdtempSync(join(tmpdir(), "timbre-stages-"));
  const env = { ...benchServiceEnv(apiUrl, join(dir, "timbre.db")), SEND_RATE_GLOBAL: "100000", SEND_RATE_PER_CHAT: "100000", SEND_CONCURRENCY: "64" };
  const service = await startService(loadConfig(env), { logger: silentLogger });
  if (stage === "stored") await service.dispatcher.stop();
  if (stage === "routed") await service.outbox.stop(1000);
  let next = 1;
  const flood = async (last: number) => {
    const caller = async () => {
      while (next <= last) await service.inbox.store(update(next++));
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, caller));
    if (stage !== "stored") await service.dispatcher.whenIdle();
    if (stage === "echoed") await service.outbox.whenIdle();
  };
  await flood(WARM_UP);
  const before = threadTicks();
  const started = performance.now();
  await flood(WARM_UP + count);
  const seconds = (performance.now() - started) / 1000;
  const after = threadTicks();
  const ticksPerSecond = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;
  const threads: Record<string, number> = {};
  for (const [name, ticks] of after) threads[name] = ((ticks - (before.get(name) ?? 0)) * 1e6) / ticksPerSecond / count;
  console.log(JSON.stringify({ stage, perSecond: count / seconds, threads }));
  await service.stop();
  rmSync(dir, { recursive: true, force: true });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const fmt = (n: number) => n.toFixed(1);

if (process.argv[2] === "--stage") {
  await runStage(process.argv[3] as Stage, Number(process.argv[4]), process.argv[5]!);
  process.exit(0);
}

const rounds = Number(process.argv[2] ?? 3);
const count = Number(process.argv[3] ?? 60_000);
const api = await startFastBotApi();
const results = new Map<Stage, { perSecond: number; threads: Record<string, number> }[]>(STAGES.map((s) => [s, []]));
for (let round = 0; round < rounds; round++) {
  for (const stage of STAGES) {
    const child = Bun.spawnSync([process.execPath, import.meta.path, "--stage", stage, String(count), api.url], { stderr: "inherit" });
    const line = child.stdout.toString().trim().split("\n").pop() ?? "";
    if (child.exitCode !== 0 || !line.startsWith("{")) throw new Error(`stage ${stage} failed: ${child.stdout.toString()}`);
    results.get(stage)!.push(JSON.parse(line));
  }
}
await api.stop();

const names = ["event loop", "HTTP Client", "Bun Pool", "JITWorker", "HeapHelper"];
console.log(`\necho stages: ${count.toLocaleString("en-US")} updates after ${WARM_UP.toLocaleString("en-US")} of warm-up, ${IN_FLIGHT} in flight, no HTTP; medians of ${rounds} rounds, CPU µs per update by thread\n`);
console.log(`| stage | updates/s | total | event loop | HTTP client | thread pool | JIT | GC helpers | other |`);
console.log(`| --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
for (const stage of STAGES) {
  const runs = results.get(stage)!;
  const of = (name: string) => median(runs.map((r) => r.threads[name] ?? 0));
  const total = median(runs.map((r) => Object.values(r.threads).reduce((a, b) => a + b, 0)));
  const other = median(runs.map((r) => Object.entries(r.threads).filter(([n]) => !names.includes(n)).reduce((a, [, v]) => a + v, 0)));
  console.log(`| ${stage} | ${Math.round(median(runs.map((r) => r.perSecond))).toLocaleString("en-US")} | ${fmt(total)} | ${names.map((n) => fmt(of(n))).join(" | ")} | ${fmt(other)} |`);
}

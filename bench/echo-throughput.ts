/**
 * End-to-end echo: updates POSTed to the webhook -> replies recorded by the Bot API emulator,
 * with the outbox's rate limits lifted (SEND_RATE_* = 100000; SEND_CONCURRENCY as given).
 *
 *   bun bench/echo-throughput.ts [--updates 5000] [--clients 50] [--send-concurrency 8] [--warmup 500]
 *
 * Two phases, M clients over M chats:
 * - throughput: each client posts its share of N updates back to back (waiting only for the
 *   webhook's 200), so a backlog builds; updates/s = N / (first post -> last reply recorded),
 *   and the latency percentiles include that queueing.
 * - latency: each client posts its next update only after the echo of the previous one was
 *   recorded (M in flight at most); post -> recorded percentiles without a backlog.
 *
 * The service runs as a child process (`bun src/main.ts`, AGENT=echo, a fresh SQLite file,
 * WAL + synchronous=FULL); the emulator and the load generator run in this process. CPU per
 * update is the child's utime+stime from /proc/<pid>/stat over the throughput phase, so the
 * load generator's and the emulator's CPU are not counted.
 */
import { parseArgs } from "node:util";
import { BotApiEmulator } from "../src/sandbox/emulator.ts";
import { postUpdate, serviceEnv, spawnService, tempDir, textUpdate, waitFor } from "../test/helpers.ts";
import { cpuMicros } from "./lib.ts";

const { values } = parseArgs({
  options: {
    updates: { type: "string", default: "5000" },
    clients: { type: "string", default: "50" },
    "send-concurrency": { type: "string", default: "8" },
    warmup: { type: "string", default: "500" },
  },
});
const N = Number(values.updates);
const M = Number(values.clients);
const WARMUP = Number(values.warmup);
const SEND_CONCURRENCY = values["send-concurrency"]!;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function latencySummary(postedAt: Map<string, number>) {
  const sorted = [...postedAt].map(([text, at]) => recordedAt.get(text)! - at).sort((a, b) => a - b);
  return { p50: +percentile(sorted, 50).toFixed(1), p99: +percentile(sorted, 99).toFixed(1), max: +sorted.at(-1)!.toFixed(1) };
}

const emulator = new BotApiEmulator({ seed: 1 });
const apiUrl = emulator.listen();
const recordedAt = new Map<string, number>();
const waiting = new Map<string, () => void>();
emulator.subscribe((event) => {
  if (event.type !== "bot_message") return;
  recordedAt.set(event.message.text, performance.now());
  waiting.get(event.message.text)?.();
});

const dir = tempDir("timbre-bench-");
const service = await spawnService(
  serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, {
    AGENT: "echo",
    SEND_RATE_GLOBAL: "100000",
    SEND_RATE_PER_CHAT: "100000",
    SEND_CONCURRENCY,
    MAX_CONCURRENCY: "64",
  }),
);

let nextUpdateId = 1;

async function post(client: number, text: string, postedAt: Map<string, number>): Promise<void> {
  postedAt.set(text, performance.now());
  const response = await postUpdate(service.url, textUpdate({ id: 10_000 + client, first_name: `client${client}` }, text, nextUpdateId++));
  if (!response.ok) throw new Error(`webhook answered ${response.status}: ${await response.text()}`);
  await response.arrayBuffer();
}

/** Open loop: every client posts its share back to back; resolves when every echo is recorded. */
async function flood(count: number, tag: string): Promise<Map<string, number>> {
  const postedAt = new Map<string, number>();
  await Promise.all(
    Array.from({ length: M }, async (_, client) => {
      for (let i = client; i < count; i += M) await post(client, `${tag} ${client} ${i}`, postedAt);
    }),
  );
  await waitFor(() => [...postedAt.keys()].every((text) => recordedAt.has(text)), `all ${count} echoes`, 300_000, 5);
  return postedAt;
}

/** Closed loop: each client waits for its echo before posting the next update. */
async function pingPong(count: number, tag: string): Promise<Map<string, number>> {
  const postedAt = new Map<string, number>();
  await Promise.all(
    Array.from({ length: M }, async (_, client) => {
      for (let i = client; i < count; i += M) {
        const text = `${tag} ${client} ${i}`;
        const echoed = new Promise<void>((resolve) => waiting.set(text, resolve));
        await post(client, text, postedAt);
        await echoed;
        waiting.delete(text);
      }
    }),
  );
  return postedAt;
}

try {
  await flood(WARMUP, "warmup");
  emulator.calls.length = 0;
  emulator.messages.length = 0;

  const cpuBefore = cpuMicros(service.proc.pid);
  const started = performance.now();
  const flooded = await flood(N, "flood");
  const elapsedMs = performance.now() - started;
  const cpu = cpuMicros(service.proc.pid) - cpuBefore;

  const pingPonged = await pingPong(Math.min(N, 2000), "pingpong");

  const sends = emulator.callsOf("sendMessage");
  const result = {
    updates: N,
    clients: M,
    send_concurrency: Number(SEND_CONCURRENCY),
    throughput: {
      elapsed_s: +(elapsedMs / 1000).toFixed(2),
      updates_per_s: Math.round(N / (elapsedMs / 1000)),
      latency_ms: latencySummary(flooded),
      cpu_us_per_update: Math.round(cpu / N),
      service_cpu_cores: +(cpu / 1000 / elapsedMs).toFixed(2),
    },
    latency_closed_loop_ms: latencySummary(pingPonged),
    // Both measured phases; every update got exactly one sendMessage.
    send_calls: sends.length,
    send_errors: sends.filter((c) => c.status !== 200).length,
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  await service.kill9();
  emulator.stop();
  dir.cleanup();
}

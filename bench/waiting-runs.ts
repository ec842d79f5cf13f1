/**
 * Memory and restart time for many runs waiting at once: on `ask` (the coach) or on `ctx.sleep`.
 *
 *   bun bench/waiting-runs.ts [--runs 10000] [--in-flight 200] [--kind ask|sleep] [--sleep-seconds 40]
 *
 * The service runs as a child process (`bun src/main.ts` with AGENT=coach, or
 * bench/sleeper-service.ts for sleeps; a fresh SQLite file with synchronous=FULL, outbox rates
 * lifted); the Bot API emulator and the load generator run in this process. Steps:
 *  1. N users each post one text straight to the webhook (`--in-flight` requests at a time):
 *     "hi" (the coach asks for a goal and waits) or the seconds to sleep. Done when N runs are
 *     `waiting` in the SQLite file (read read-only beside the service) and their first messages
 *     have reached the emulator.
 *  2. RSS (VmRSS from /proc/<pid>/status) of the idle service before, and with N runs waiting. A
 *     waiting run holds no execution, so what it costs is the database's page cache.
 *  3. kill -9, start a new process on the same file: spawn to "timbre is serving" (nothing to
 *     replay: waiting runs stay in the journal until their answer or timer comes), and its RSS.
 *  4. ask: every user answers; "answer round trip" is the time until all N next questions
 *     ("How many days...") have reached the emulator (each answer replays its run). sleep: the
 *     time from the last sleep's end until all N "awake" messages have reached the emulator.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { BotApiEmulator } from "../src/sandbox/emulator.ts";
import { postUpdate, serviceEnv, spawnService, tempDir, textUpdate, waitFor, type SpawnedService } from "../test/helpers.ts";
import { readDb } from "../test/runtime/support.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "10000" },
    "in-flight": { type: "string", default: "200" },
    kind: { type: "string", default: "ask" },
    "sleep-seconds": { type: "string", default: "40" },
  },
});
const N = Number(values.runs);
const IN_FLIGHT = Number(values["in-flight"]);
const KIND = values.kind === "sleep" ? "sleep" : "ask";
const SLEEP_SECONDS = Number(values["sleep-seconds"]);
const command = KIND === "sleep" ? [process.execPath, `${import.meta.dir}/sleeper-service.ts`] : undefined;

function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rss: +(kb("VmRSS") / 1024).toFixed(1), peak: +(kb("VmHWM") / 1024).toFixed(1) };
}

/**
 * RSS once the process has given back what the burst of requests left (the allocator returns
 * freed pages after some seconds): sampled each second until it has not dropped by 0.5 MB for
 * 15 s, at most 90 s. What remains is what the waiting runs (and caches) hold.
 */
async function settledRss(pid: number): Promise<{ rss: number; peak: number }> {
  let last = rssMb(pid);
  for (let steady = 0, waited = 0; steady < 15 && waited < 90; waited++) {
    await Bun.sleep(1000);
    const now = rssMb(pid);
    steady = last.rss - now.rss < 0.5 ? steady + 1 : 0;
    last = now;
  }
  return last;
}

const emulator = new BotApiEmulator({ seed: 1 });
const apiUrl = emulator.listen();
const dir = tempDir("timbre-bench-waiting-");
const dbPath = `${dir.path}/timbre.db`;
const env = serviceEnv(emulator, apiUrl, dbPath, {
  AGENT: "coach",
  SEND_RATE_GLOBAL: "100000",
  SEND_RATE_PER_CHAT: "100000",
  LOG_LEVEL: "info",
});

let nextUpdateId = 1;
const users = Array.from({ length: N }, (_, i) => ({ id: 1_000_000 + i, first_name: `user${i}`, language_code: i % 2 ? "es" : "en" }));

/** Every user posts one text to the webhook, `IN_FLIGHT` requests at a time. */
async function postAll(service: SpawnedService, text: string): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < users.length) {
        const user = users[next++]!;
        const response = await postUpdate(service.url, textUpdate(user, text, nextUpdateId++));
        if (!response.ok) throw new Error(`webhook answered ${response.status}: ${await response.text()}`);
        await response.arrayBuffer();
      }
    }),
  );
}

const count = (sql: string) => readDb<{ n: number }>(dbPath, sql)[0]!.n;
const questionsSent = (prefix: string[]) => emulator.messages.filter((m) => prefix.some((p) => m.text.startsWith(p))).length;
const GOAL = KIND === "sleep" ? ["sleeping"] : ["What is your training goal?", "¿Cuál es tu objetivo"];
const DAYS = ["How many days per week", "¿Cuántos días por semana"];

let service: SpawnedService | undefined;
try {
  service = await spawnService(env, command);
  await Bun.sleep(500);
  const idle = rssMb(service.proc.pid);

  // 1. N runs waiting on their first question.
  const started = performance.now();
  await postAll(service, KIND === "sleep" ? `${SLEEP_SECONDS}` : "hi");
  const acceptedMs = performance.now() - started;
  await waitFor(() => count("SELECT count(*) AS n FROM runs WHERE status = 'waiting'") === N, `${N} waiting runs`, 300_000, 200);
  const waitingMs = performance.now() - started;
  await waitFor(() => questionsSent(GOAL) >= N, `${N} questions sent`, 300_000, 200);
  const questionsMs = performance.now() - started;
  await Bun.sleep(2000); // let the outbox and the GC settle before reading memory
  const waitingAt2s = rssMb(service.proc.pid);
  const waiting = await settledRss(service.proc.pid);
  const dbBytes = Bun.file(dbPath).size + Bun.file(`${dbPath}-wal`).size;

  // 2. kill -9 and restart on the same file.
  await service.kill9();
  const spawnedAt = performance.now();
  service = await spawnService(env, command);
  const servingMs = performance.now() - spawnedAt;
  await Bun.sleep(1000);
  const restarted = rssMb(service.proc.pid);

  // 3. Every run goes on: the answers come, or the sleeps end.
  const answeredAt = performance.now();
  let answersAcceptedMs = 0;
  let roundTripMs: number;
  if (KIND === "ask") {
    await postAll(service, "run a 10k");
    answersAcceptedMs = performance.now() - answeredAt;
    await waitFor(() => questionsSent(DAYS) >= N, `${N} next questions`, 300_000, 100);
    roundTripMs = performance.now() - answeredAt;
  } else {
    const lastDeadline = readDb<{ at: number }>(dbPath, "SELECT max(deadline_at) AS at FROM run_steps WHERE kind = 'sleep'")[0]!.at;
    await waitFor(() => questionsSent(["awake"]) >= N, `${N} awake messages`, 300_000 + SLEEP_SECONDS * 1000, 50);
    roundTripMs = Date.now() - lastDeadline;
  }
  const after = rssMb(service.proc.pid);
  if (questionsSent(GOAL) !== N) throw new Error(`a message was repeated: ${questionsSent(GOAL)} first messages for ${N} users`);

  const result = {
    kind: KIND,
    runs: N,
    in_flight: IN_FLIGHT,
    start_runs: { webhook_accepted_s: +(acceptedMs / 1000).toFixed(2), all_waiting_s: +(waitingMs / 1000).toFixed(2), all_first_messages_sent_s: +(questionsMs / 1000).toFixed(2) },
    rss_mb: {
      idle: idle.rss,
      with_runs_waiting_2s: waitingAt2s.rss,
      with_runs_waiting_settled: waiting.rss,
      per_waiting_run_kb_2s: +(((waitingAt2s.rss - idle.rss) * 1024) / N).toFixed(2),
      per_waiting_run_kb_settled: +(((waiting.rss - idle.rss) * 1024) / N).toFixed(2),
      peak: waiting.peak,
    },
    database_mb: +(dbBytes / 1024 / 1024).toFixed(1),
    restart: { spawn_to_serving_s: +(servingMs / 1000).toFixed(2), rss_mb_after_restart: restarted.rss },
    go_on:
      KIND === "ask"
        ? { webhook_accepted_s: +(answersAcceptedMs / 1000).toFixed(2), all_next_questions_sent_s: +(roundTripMs / 1000).toFixed(2), rss_mb_after: after.rss }
        : { last_sleep_end_to_all_awake_s: +(roundTripMs / 1000).toFixed(2), rss_mb_after: after.rss },
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  await service?.kill9();
  emulator.stop();
  dir.cleanup();
}

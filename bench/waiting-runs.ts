/**
 * Memory and restart time for many runs waiting on `ask` at once.
 *
 *   bun bench/waiting-runs.ts [--runs 10000] [--in-flight 200]
 *
 * The service runs as a child process (`bun src/main.ts`, AGENT=coach, a fresh SQLite file
 * with synchronous=FULL, outbox rates lifted); the Bot API emulator and the load generator run
 * in this process. Steps:
 *  1. N users each post "hi" straight to the webhook (`--in-flight` requests at a time); the
 *     coach asks each for a goal and waits. Done when N runs are `waiting` in the SQLite file
 *     (read read-only beside the service) and the emulator has recorded the N questions.
 *  2. RSS (VmRSS from /proc/<pid>/status) of the idle service before, and with N runs waiting.
 *  3. kill -9, start a new process on the same file. "Resume time" is from spawning the
 *     process to its log line "runtime: resumed runs are live again" (every run replayed from
 *     its journal and waiting on its question again, timers re-armed from stored deadlines);
 *     also reported: spawn to "timbre is serving", and the runtime's own resume_ms.
 *  4. Every user answers; "answer round trip" is the time until all N next questions
 *     ("How many days...") have reached the emulator: the resumed runs are really live.
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
  },
});
const N = Number(values.runs);
const IN_FLIGHT = Number(values["in-flight"]);

function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rss: +(kb("VmRSS") / 1024).toFixed(1), peak: +(kb("VmHWM") / 1024).toFixed(1) };
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
const GOAL = ["What is your training goal?", "¿Cuál es tu objetivo"];
const DAYS = ["How many days per week", "¿Cuántos días por semana"];

let service: SpawnedService | undefined;
try {
  service = await spawnService(env);
  await Bun.sleep(500);
  const idle = rssMb(service.proc.pid);

  // 1. N runs waiting on their first question.
  const started = performance.now();
  await postAll(service, "hi");
  const acceptedMs = performance.now() - started;
  await waitFor(() => count("SELECT count(*) AS n FROM runs WHERE status = 'waiting'") === N, `${N} waiting runs`, 300_000, 200);
  const waitingMs = performance.now() - started;
  await waitFor(() => questionsSent(GOAL) >= N, `${N} questions sent`, 300_000, 200);
  const questionsMs = performance.now() - started;
  await Bun.sleep(2000); // let the outbox and the GC settle before reading memory
  const waiting = rssMb(service.proc.pid);
  const dbBytes = Bun.file(dbPath).size + Bun.file(`${dbPath}-wal`).size;

  // 2. kill -9 and restart on the same file.
  await service.kill9();
  const spawnedAt = performance.now();
  service = await spawnService(env);
  const servingMs = performance.now() - spawnedAt;
  const resumeLine = await waitFor(() => /"msg":"runtime: resumed runs are live again","count":(\d+),"resume_ms":(\d+)/.exec(service!.output()), "the resume line", 300_000, 10);
  const resumedMs = performance.now() - spawnedAt;
  const resumed = rssMb(service.proc.pid);

  // 3. Everyone answers; the next question reaches every user.
  const answeredAt = performance.now();
  await postAll(service, "run a 10k");
  const answersAcceptedMs = performance.now() - answeredAt;
  await waitFor(() => questionsSent(DAYS) >= N, `${N} next questions`, 300_000, 100);
  const roundTripMs = performance.now() - answeredAt;
  const after = rssMb(service.proc.pid);
  if (questionsSent(GOAL) !== N) throw new Error(`a question was repeated: ${questionsSent(GOAL)} goal questions for ${N} users`);

  const result = {
    runs: N,
    in_flight: IN_FLIGHT,
    start_runs: { webhook_accepted_s: +(acceptedMs / 1000).toFixed(2), all_waiting_s: +(waitingMs / 1000).toFixed(2), all_questions_sent_s: +(questionsMs / 1000).toFixed(2) },
    rss_mb: { idle: idle.rss, with_runs_waiting: waiting.rss, per_waiting_run_kb: +(((waiting.rss - idle.rss) * 1024) / N).toFixed(1), peak: waiting.peak },
    database_mb: +(dbBytes / 1024 / 1024).toFixed(1),
    restart: {
      spawn_to_serving_s: +(servingMs / 1000).toFixed(2),
      spawn_to_all_resumed_s: +(resumedMs / 1000).toFixed(2),
      runtime_resume_ms: Number(resumeLine[2]),
      resumed: Number(resumeLine[1]),
      rss_mb_after_resume: resumed.rss,
    },
    answers: { webhook_accepted_s: +(answersAcceptedMs / 1000).toFixed(2), all_next_questions_sent_s: +(roundTripMs / 1000).toFixed(2), rss_mb_after: after.rss },
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  await service?.kill9();
  emulator.stop();
  dir.cleanup();
}

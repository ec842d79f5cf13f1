/**
 * Memory: RSS of the service idle, after 100 000 stored updates, with 10 000 runs waiting on
 * `ask`, and across many prune cycles while updates keep flowing.
 *
 *   bun bench/memory.ts [--updates 100000] [--waiting 10000] [--rounds 80] [--per-round 1000]
 *                       [--advance-hours 3] [--in-flight 64] [--users 10000]
 *
 * Every phase runs the service as a child process with a fresh SQLite file (WAL +
 * synchronous=FULL) and outbox rates lifted; the Bot API emulator and the load generator run in
 * this process. RSS is VmRSS from /proc/<pid>/status of the child only, read after the work is
 * done and a short settle.
 *  A. `bun src/main.ts`, AGENT=echo: idle, then `--updates` texts POSTed to the webhook
 *     (`--in-flight` at a time, from `--users` chats) in ten steps; after each step every echo
 *     has reached the emulator. Nothing is pruned here (nothing is an hour old yet): this is
 *     RSS against the number of stored rows.
 *  B. `bun src/main.ts`, AGENT=coach: idle, then `--waiting` users say "hi" and every run waits
 *     on its first question (as bench/waiting-runs.ts, without its restart part).
 *  C. bench/clocked-service.ts, AGENT=echo: the same service on a clock this script moves.
 *     `--rounds` rounds of `--per-round` updates; after each round the clock moves
 *     `--advance-hours` and the janitor's prune calls run (production: every 10 min; payloads
 *     kept 1 h, dedup keys 48 h, outbox rows 48 h, ended runs 7 days). Row counts, database
 *     pages and RSS are sampled after each prune: once the retention windows are full, rows and
 *     pages stop growing, and RSS must stay flat the whole time. RSS is read twice: right after
 *     the prune (the burst's garbage still there) and `SETTLE_MS` later, once the service has
 *     been quiet (its idle collector has run), the state every cycle ends in and the one compared.
 * Each phase also reports the service's CPU time per update (utime + stime from /proc) and its
 * idle collections (count and time, from /metrics): what giving memory back costs.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BotApiEmulator } from "../src/sandbox/emulator.ts";
import { ROOT, postUpdate, serviceEnv, spawnService, tempDir, textUpdate, waitFor, type SpawnedService } from "../test/helpers.ts";
import { readDb } from "../test/runtime/support.ts";
import { collectionNote, collections, cpuSeconds, dbState, median, rssMb, slope, type DbState, type Rss } from "./memory-probes.ts";

const { values } = parseArgs({
  options: {
    updates: { type: "string", default: "100000" },
    waiting: { type: "string", default: "10000" },
    rounds: { type: "string", default: "100" },
    "per-round": { type: "string", default: "1000" },
    "advance-hours": { type: "string", default: "3" },
    "in-flight": { type: "string", default: "64" },
    users: { type: "string", default: "10000" },
  },
});
const UPDATES = Number(values.updates);
const WAITING = Number(values.waiting);
const ROUNDS = Number(values.rounds);
const PER_ROUND = Number(values["per-round"]);
const ADVANCE_MS = Number(values["advance-hours"]) * 3_600_000;
const IN_FLIGHT = Number(values["in-flight"]);
const USERS = Number(values.users);
const SETTLE_MS = 1000;
const HOUR = 3_600_000;
const emulator = new BotApiEmulator({ seed: 1 });
const apiUrl = emulator.listen();
let botMessages = 0;
let goalQuestions = 0;
const GOAL = ["What is your training goal?", "¿Cuál es tu objetivo"];
emulator.subscribe((event) => {
  if (event.type !== "bot_message") return;
  botMessages++;
  if (GOAL.some((prefix) => event.message.text.startsWith(prefix))) goalQuestions++;
});
// Only counters are needed: recording 100 000s of calls would grow this process, not the service.
const forget = setInterval(() => {
  emulator.calls.length = 0;
  emulator.messages.length = 0;
}, 1000);

const users = Array.from({ length: Math.max(USERS, WAITING) }, (_, i) => ({ id: 2_000_000 + i, first_name: `user${i}`, language_code: i % 2 ? "es" : "en" }));
let nextUpdateId = 1;
let nextUser = 0;

/** Posts `count` texts to the webhook, `IN_FLIGHT` at a time; `userFor(i)` picks each sender. */
async function postMany(service: SpawnedService, count: number, text: (i: number) => string, userFor: (i: number) => (typeof users)[number]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(IN_FLIGHT, count) }, async () => {
      while (next < count) {
        const i = next++;
        const response = await postUpdate(service.url, textUpdate(userFor(i), text(i), nextUpdateId++));
        if (!response.ok) throw new Error(`webhook answered ${response.status}: ${await response.text()}`);
        await response.arrayBuffer();
      }
    }),
  );
}

/** Echo traffic: `count` texts from the next users in turn; resolves when every echo was recorded. */
async function echoTraffic(service: SpawnedService, count: number): Promise<void> {
  const target = botMessages + count;
  await postMany(service, count, (i) => `message ${nextUpdateId} #${i}: how many kilometres did I run this week?`, () => users[nextUser++ % USERS]!);
  await waitFor(() => botMessages >= target, `${count} echoes`, 300_000, 20);
}

const rates = { SEND_RATE_GLOBAL: "100000", SEND_RATE_PER_CHAT: "100000", SEND_CONCURRENCY: "32" };
const fmt = (n: number) => n.toLocaleString("en-US");
const mb = (n: number) => n.toFixed(1);
const dir = tempDir("timbre-bench-memory-");
let service: SpawnedService | undefined;
try {
  // A. Echo: idle, then 100 000 stored and processed updates, in ten steps.
  const echoDb = join(dir.path, "echo.db");
  service = await spawnService(serviceEnv(emulator, apiUrl, echoDb, { AGENT: "echo", ...rates }));
  await Bun.sleep(SETTLE_MS);
  const echoIdle = rssMb(service.proc.pid);
  const steps: { stored: number; rss: Rss; db: DbState }[] = [];
  const stepSize = Math.ceil(UPDATES / 10);
  const echoStarted = performance.now();
  const echoCpuStart = cpuSeconds(service.proc.pid);
  for (let stored = 0; stored < UPDATES; ) {
    const count = Math.min(stepSize, UPDATES - stored);
    await echoTraffic(service, count);
    stored += count;
    await Bun.sleep(SETTLE_MS);
    steps.push({ stored, rss: rssMb(service.proc.pid), db: dbState(echoDb) });
    console.error(`memory: A. ${fmt(stored)} updates stored and echoed, RSS ${steps.at(-1)!.rss.rss} MB`);
  }
  const echoSeconds = (performance.now() - echoStarted) / 1000;
  const echoCpu = cpuSeconds(service.proc.pid) - echoCpuStart;
  const echoCollections = await collections(service);
  await service.kill9();
  service = undefined;

  // B. Coach: idle, then WAITING runs waiting on their first question.
  const coachDb = join(dir.path, "coach.db");
  service = await spawnService(serviceEnv(emulator, apiUrl, coachDb, { AGENT: "coach", ...rates }));
  await Bun.sleep(SETTLE_MS);
  const coachIdle = rssMb(service.proc.pid);
  const questionsBefore = goalQuestions;
  await postMany(service, WAITING, () => "hi", (i) => users[i]!);
  await waitFor(() => goalQuestions - questionsBefore >= WAITING, `${WAITING} questions sent`, 300_000, 50);
  await waitFor(() => dbState(coachDb).runs === WAITING && readDb<{ n: number }>(coachDb, "SELECT count(*) AS n FROM runs WHERE status = 'waiting'")[0]!.n === WAITING, `${WAITING} waiting runs`, 60_000, 100);
  await Bun.sleep(2 * SETTLE_MS);
  const coachWaiting = rssMb(service.proc.pid);
  const coachDbState = dbState(coachDb);
  const coachCollections = await collections(service);
  console.error(`memory: B. ${fmt(WAITING)} runs waiting, RSS ${coachWaiting.rss} MB`);
  await service.kill9();
  service = undefined;

  // C. Prune cycles on a moved clock, updates flowing between them.
  const cycleDb = join(dir.path, "cycles.db");
  service = await spawnService(serviceEnv(emulator, apiUrl, cycleDb, { AGENT: "echo", ...rates }), [process.execPath, join(ROOT, "bench/clocked-service.ts"), String(ADVANCE_MS)]);
  await Bun.sleep(SETTLE_MS);
  const cycleIdle = rssMb(service.proc.pid);
  const rounds: { round: number; afterPrune: Rss; rss: Rss; db: DbState; pruned: Record<string, number> }[] = [];
  const cyclesStarted = performance.now();
  const cycleCpuStart = cpuSeconds(service.proc.pid);
  for (let round = 1; round <= ROUNDS; round++) {
    await echoTraffic(service, PER_ROUND);
    service.proc.kill("SIGUSR2");
    const line = await waitFor(
      () => new RegExp(`\\{"msg":"clocked: pruned","cycle":${round},[^\\n]*\\}`).exec(service!.output())?.[0],
      `prune cycle ${round}`,
      30_000,
      5,
    );
    const afterPrune = rssMb(service.proc.pid);
    const db = dbState(cycleDb);
    await Bun.sleep(SETTLE_MS);
    rounds.push({ round, afterPrune, rss: rssMb(service.proc.pid), db, pruned: JSON.parse(line) as Record<string, number> });
    if (round % 10 === 0) console.error(`memory: C. round ${round}/${ROUNDS}, RSS ${afterPrune.rss} MB after the prune, ${rounds.at(-1)!.rss.rss} MB 1 s later, ${fmt(db.updates)} update rows`);
  }
  const cycleSeconds = (performance.now() - cyclesStarted) / 1000;
  const cycleCpu = cpuSeconds(service.proc.pid) - cycleCpuStart;
  const cycleCollections = await collections(service);
  const cycleEnd = rssMb(service.proc.pid);
  await service.kill9();
  service = undefined;

  // Report.
  const last = steps.at(-1)!;
  const cycleRss = rounds.map((r) => r.rss.rss);
  const tenth = Math.max(1, Math.floor(ROUNDS / 10));
  const earlyOf = (xs: number[]) => median(xs.slice(tenth, 2 * tenth).concat(xs.length > tenth ? [] : xs));
  const early = earlyOf(cycleRss);
  const late = median(cycleRss.slice(-tenth));
  const pruneRss = rounds.map((r) => r.afterPrune.rss);
  // The first cycle whose prune deletes ended runs: from there on every retention window is full.
  const fullAfter = Math.ceil((7 * 24 * HOUR) / ADVANCE_MS);
  const steady = rounds.filter((r) => r.round >= fullAfter);

  console.log(`\nmemory: RSS (VmRSS of the service process), fresh SQLite file per phase, WAL + synchronous=FULL, outbox rates lifted\n`);
  console.log("| state | RSS MB | peak RSS MB | database |");
  console.log("| --- | --- | --- | --- |");
  console.log(`| idle after start (AGENT=echo) | ${mb(echoIdle.rss)} | ${mb(echoIdle.peak)} | empty |`);
  console.log(
    `| after ${fmt(UPDATES)} stored updates, all processed (echo, ${fmt(USERS)} chats, ${echoSeconds.toFixed(0)} s) | ${mb(last.rss.rss)} | ${mb(last.rss.peak)} | ${fmt(last.db.updates)} updates, ${fmt(last.db.runs)} runs, ${fmt(last.db.outbox)} outbox rows, ${last.db.fileMb} MB |`,
  );
  console.log(`| idle after start (AGENT=coach) | ${mb(coachIdle.rss)} | ${mb(coachIdle.peak)} | empty |`);
  console.log(
    `| ${fmt(WAITING)} runs waiting on ask (coach) | ${mb(coachWaiting.rss)} | ${mb(coachWaiting.peak)} | ${fmt(coachDbState.runs)} runs, ${coachDbState.fileMb} MB; ${(((coachWaiting.rss - coachIdle.rss) * 1024) / WAITING).toFixed(1)} KB RSS per waiting run |`,
  );
  const end = rounds.at(-1)!.db;
  console.log(
    `| ${ROUNDS} prune cycles, ${fmt(ROUNDS * PER_ROUND)} updates flowing, clock +${ADVANCE_MS / HOUR} h per cycle (${cycleSeconds.toFixed(0)} s): median of cycles ${tenth + 1}-${2 * tenth} -> of the last ${tenth} (min-max of all cycles), ${SETTLE_MS / 1000} s after each prune | ${mb(early)} -> ${mb(late)} (${mb(Math.min(...cycleRss))}-${mb(Math.max(...cycleRss))}) | ${mb(cycleEnd.peak)} | at the end: ${fmt(end.updates)} updates, ${fmt(end.runs)} runs, ${fmt(end.outbox)} outbox rows, ${fmt(end.pages)} pages, ${end.fileMb} MB |`,
  );
  console.log(
    `| the same, right after each prune | ${mb(earlyOf(pruneRss))} -> ${mb(median(pruneRss.slice(-tenth)))} (${mb(Math.min(...pruneRss))}-${mb(Math.max(...pruneRss))}) | | |`,
  );
  console.log(`\nCPU of the service and its idle collections:`);
  console.log(`- A (${fmt(UPDATES)} echoes): ${((echoCpu * 1e6) / UPDATES).toFixed(0)} µs CPU per update; ${collectionNote(echoCollections, UPDATES)}`);
  console.log(`- B (${fmt(WAITING)} waiting runs): ${collectionNote(coachCollections, WAITING)}`);
  console.log(`- C (${fmt(ROUNDS * PER_ROUND)} echoes in ${ROUNDS} cycles): ${((cycleCpu * 1e6) / (ROUNDS * PER_ROUND)).toFixed(0)} µs CPU per update; ${collectionNote(cycleCollections, ROUNDS * PER_ROUND)}`);

  console.log(`\nA. RSS against stored rows (no pruning: nothing is an hour old yet)\n`);
  console.log("| stored updates | RSS MB | update rows | with payload | runs | outbox rows | database MB |");
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  console.log(`| 0 | ${mb(echoIdle.rss)} | 0 | 0 | 0 | 0 | - |`);
  for (const s of steps) console.log(`| ${fmt(s.stored)} | ${mb(s.rss.rss)} | ${fmt(s.db.updates)} | ${fmt(s.db.payloads)} | ${fmt(s.db.runs)} | ${fmt(s.db.outbox)} | ${s.db.fileMb} |`);

  console.log(`\nC. Prune cycles: ${fmt(PER_ROUND)} updates, then the clock +${ADVANCE_MS / HOUR} h and a prune (payloads 1 h, dedup keys and outbox rows 48 h, ended runs 7 days)\n`);
  console.log(`| cycle | clock | updates so far | update rows | with payload | runs | outbox rows | pages used / free | deleted this cycle (updates / runs / outbox) | RSS MB right after the prune | RSS MB ${SETTLE_MS / 1000} s later |`);
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  const dedupFull = Math.ceil((48 * HOUR) / ADVANCE_MS);
  const shown = new Set([1, 2, dedupFull - 1, dedupFull, fullAfter - 1, fullAfter, fullAfter + 1, ROUNDS]);
  for (let r = 10; r <= ROUNDS; r += 10) shown.add(r);
  console.log(`| 0 (idle) | +0 h | 0 | 0 | 0 | 0 | 0 | - | - | ${mb(cycleIdle.rss)} | ${mb(cycleIdle.rss)} |`);
  for (const r of rounds) {
    if (!shown.has(r.round)) continue;
    const hours = (r.round * ADVANCE_MS) / HOUR;
    const clock = hours >= 48 ? `+${(hours / 24).toFixed(1)} d` : `+${hours} h`;
    console.log(
      `| ${r.round} | ${clock} | ${fmt(r.round * PER_ROUND)} | ${fmt(r.db.updates)} | ${fmt(r.db.payloads)} | ${fmt(r.db.runs)} | ${fmt(r.db.outbox)} | ${fmt(r.db.pages - r.db.freePages)} / ${fmt(r.db.freePages)} | ${fmt(r.pruned.updates_deleted!)} / ${fmt(r.pruned.runs_deleted!)} / ${fmt(r.pruned.outbox_deleted!)} | ${mb(r.afterPrune.rss)} | ${mb(r.rss.rss)} |`,
    );
  }
  const rssRange = (rs: typeof rounds) => `${mb(Math.min(...rs.map((r) => r.rss.rss)))}-${mb(Math.max(...rs.map((r) => r.rss.rss)))} MB`;
  const fromTenth = rounds.slice(tenth);
  const perCycle = slope(fromTenth.map((r) => r.round), fromTenth.map((r) => r.rss.rss));
  const prunePerCycle = slope(fromTenth.map((r) => r.round), fromTenth.map((r) => r.afterPrune.rss));
  console.log(
    `\nRSS ${SETTLE_MS / 1000} s after each prune, over all ${ROUNDS} cycles: ${rssRange(rounds)}; median of cycles ${tenth + 1}-${2 * tenth}: ${mb(early)} MB, of the last ${tenth}: ${mb(late)} MB (${late - early >= 0 ? "+" : ""}${mb(late - early)} MB); least-squares trend over cycles ${tenth + 1}-${ROUNDS}: ${perCycle >= 0 ? "+" : ""}${(perCycle * 1024).toFixed(0)} KB per cycle (right after each prune: ${prunePerCycle >= 0 ? "+" : ""}${(prunePerCycle * 1024).toFixed(0)} KB per cycle).`,
  );
  if (steady.length > 0) {
    const pages = steady.map((r) => r.db.pages);
    console.log(
      `Once every retention window is full (cycles ${fullAfter}-${ROUNDS}): RSS ${rssRange(steady)}, runs ${fmt(Math.min(...steady.map((r) => r.db.runs)))}-${fmt(Math.max(...steady.map((r) => r.db.runs)))}, database pages ${fmt(Math.min(...pages))}-${fmt(Math.max(...pages))}, update rows ${fmt(Math.min(...steady.map((r) => r.db.updates)))}-${fmt(Math.max(...steady.map((r) => r.db.updates)))}.`,
    );
  } else {
    console.log(`(the 7-day window of ended runs fills after ${fullAfter} cycles; run more --rounds to see the steady state)`);
  }
} finally {
  await service?.kill9();
  clearInterval(forget);
  emulator.stop();
  dir.cleanup();
}

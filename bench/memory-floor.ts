/**
 * What bounds timbre's RSS from below: a bare Bun process, then the idle cost of each library
 * timbre loads (each step loads everything the steps above did), then a durable echo bot with
 * nothing else (bench/echo-floor-server.ts) after the same 100 000 echoes as bench/memory.ts's
 * phase A.
 *
 *   bun bench/memory-floor.ts [--updates 100000] [--in-flight 64] [--users 10000]
 *
 * Idle: each step in a fresh child process (bench/idle-imports.ts), RSS (smaps_rollup, anonymous and file-backed) after
 * a full collection and a 1.5 s settle; the lowest of three tries. Echo: RSS (VmRSS) 1 s after
 * each step of 10 000, once every echo has reached the emulator.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BotApiEmulator } from "../src/sandbox/emulator.ts";
import { ROOT, postUpdate, serviceEnv, spawnService, tempDir, textUpdate, waitFor } from "../test/helpers.ts";
import { STEPS } from "./idle-imports.ts";

const { values } = parseArgs({
  options: {
    updates: { type: "string", default: "100000" },
    "in-flight": { type: "string", default: "64" },
    users: { type: "string", default: "10000" },
  },
});

const UPDATES = Number(values.updates);
const IN_FLIGHT = Number(values["in-flight"]);
const USERS = Number(values.users);
const mb = (kb: number) => (kb / 1024).toFixed(1);
const dir = tempDir("timbre-bench-memory-floor-");
try {
  console.log("\nmemory-floor: idle RSS, each step adding to the one above (lowest of 3 fresh processes)\n");
  console.log("| loaded | RSS MB | anonymous MB | file-backed MB |");
  console.log("| --- | --- | --- | --- |");
  for (let step = 0; step < STEPS.length; step++) {
    const tries = [0, 1, 2].map(() => {
      const run = Bun.spawnSync([process.execPath, join(ROOT, "bench/idle-imports.ts"), String(step), dir.path], { cwd: ROOT });
      if (run.exitCode !== 0) throw new Error(`step ${step} failed: ${run.stderr.toString()}`);
      return JSON.parse(run.stdout.toString()) as { rss: number; anonymous: number };
    });
    const best = tries.reduce((a, b) => (b.rss < a.rss ? b : a));
    console.log(`| ${STEPS[step]} | ${mb(best.rss)} | ${mb(best.anonymous)} | ${mb(best.rss - best.anonymous)} |`);
  }

  const emulator = new BotApiEmulator({ seed: 1 });
  const apiUrl = emulator.listen();
  let echoes = 0;
  emulator.subscribe((event) => {
    if (event.type === "bot_message") echoes++;
  });
  const forget = setInterval(() => {
    emulator.calls.length = 0;
    emulator.messages.length = 0;
  }, 1000);
  const service = await spawnService(serviceEnv(emulator, apiUrl, join(dir.path, "floor.db")), [process.execPath, join(ROOT, "bench/echo-floor-server.ts")]);
  const vmRss = () => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${service.proc.pid}/status`, "utf8"))![1]);
  try {
    await Bun.sleep(1000);
    const samples = [`| 0 | ${mb(vmRss())} |`];
    const users = Array.from({ length: USERS }, (_, i) => ({ id: 2_000_000 + i, first_name: `user${i}` }));
    let updateId = 1;
    const stepSize = Math.ceil(UPDATES / 10);
    for (let sent = 0; sent < UPDATES; ) {
      const count = Math.min(stepSize, UPDATES - sent);
      const target = echoes + count;
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(IN_FLIGHT, count) }, async () => {
          while (next < count) {
            next++;
            const id = updateId++;
            const response = await postUpdate(service.url, textUpdate(users[id % USERS]!, `message ${id}: how many kilometres did I run this week?`, id));
            await response.arrayBuffer();
          }
        }),
      );
      await waitFor(() => echoes >= target, `${count} echoes`, 300_000, 20);
      sent += count;
      await Bun.sleep(1000);
      samples.push(`| ${sent.toLocaleString("en-US")} | ${mb(vmRss())} |`);
    }
    console.log(`\nmemory-floor: bench/echo-floor-server.ts, RSS 1 s after each step of echoes (as bench/memory.ts phase A)\n`);
    console.log("| echoed updates | RSS MB |");
    console.log("| --- | --- |");
    for (const line of samples) console.log(line);
  } finally {
    await service.kill9();
    clearInterval(forget);
    emulator.stop();
  }
} finally {
  dir.cleanup();
}

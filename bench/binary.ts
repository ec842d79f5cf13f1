// The compiled executable against `bun src/main.ts`: size on disk, start-to-healthy time and
// idle memory (RSS). Run: bun bench/binary.ts [runs=7]  (builds dist/timbre first if it is missing).
//
// Each run starts the service with a new database (migrations included) in webhook mode,
// talking to the Bot API emulator (nothing is called at start without PUBLIC_URL), and
// measures from spawn until GET /healthz answers 200; RSS is read from /proc after 2 s idle.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBinary } from "../scripts/build.ts";
import { BotApiEmulator } from "../src/sandbox/emulator.ts";

const ROOT = join(import.meta.dir, "..");
const BINARY = join(ROOT, "dist/timbre");
const RUNS = Number(process.argv[2] ?? 7);
const IDLE_MS = 2_000;

interface Sample {
  startMs: number;
  rssMb: number;
}

function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

async function sample(cmd: string[], apiUrl: string, token: string): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), "timbre-bench-binary-"));
  const port = freePort();
  const env = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/tmp",
    TELEGRAM_BOT_TOKEN: token,
    TELEGRAM_API_URL: apiUrl,
    DATABASE_PATH: join(dir, "timbre.db"),
    HOST: "127.0.0.1",
    PORT: String(port),
    AGENT: "echo",
    LOG_LEVEL: "warn",
  };
  const started = performance.now();
  const proc = Bun.spawn(cmd, { cwd: dir, env, stdout: "ignore", stderr: "pipe" });
  try {
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`${cmd.join(" ")} exited with ${proc.exitCode}: ${await new Response(proc.stderr).text()}`);
      if (performance.now() - started > 20_000) throw new Error(`${cmd.join(" ")} was not healthy after 20 s`);
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await Bun.sleep(2);
    }
    const startMs = performance.now() - started;
    await Bun.sleep(IDLE_MS);
    return { startMs, rssMb: rssMb(proc.pid) };
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

if (!existsSync(BINARY)) {
  console.log("dist/timbre is missing: building it (bun run build)");
  const built = await buildBinary();
  console.log(`built ${built.outfile} in ${built.ms} ms`);
}

const emulator = new BotApiEmulator({ seed: 1 });
const apiUrl = emulator.listen();
const variants: { name: string; cmd: string[]; bytes: number | undefined }[] = [
  { name: "dist/timbre (bun build --compile)", cmd: [BINARY], bytes: statSync(BINARY).size },
  { name: "bun src/main.ts", cmd: [process.execPath, join(ROOT, "src/main.ts")], bytes: undefined },
];

const rows: string[] = [];
for (const variant of variants) {
  const samples: Sample[] = [];
  await sample(variant.cmd, apiUrl, emulator.token); // warm the page cache; not counted
  for (let i = 0; i < RUNS; i++) samples.push(await sample(variant.cmd, apiUrl, emulator.token));
  const starts = samples.map((s) => s.startMs);
  const rss = samples.map((s) => s.rssMb);
  const size = variant.bytes === undefined ? "n/a (needs bun + node_modules)" : `${(variant.bytes / 1024 / 1024).toFixed(1)} MiB`;
  rows.push(
    `| ${variant.name} | ${size} | ${median(starts).toFixed(0)} ms (min ${Math.min(...starts).toFixed(0)}, max ${Math.max(...starts).toFixed(0)}) | ${median(rss).toFixed(1)} MB |`,
  );
}
emulator.stop();

console.log(`\nbinary vs source: ${RUNS} runs each, medians; new database each run (migrations included); Bun ${Bun.version}, ${process.arch}`);
console.log("| how it runs | size on disk | start to healthy | idle RSS (2 s after healthy) |");
console.log("| --- | --- | --- | --- |");
for (const row of rows) console.log(row);

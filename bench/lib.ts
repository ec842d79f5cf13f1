/** Benchmark plumbing: child processes that announce their URL, the fast fake Bot API, wrk runs, /proc readings. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";

export const BENCH_TOKEN = "123456:bench-token";
export const BENCH_SECRET = "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz";

/** The service's environment in every benchmark: the emulator as Telegram, loopback, a fresh database, echo. */
export function benchServiceEnv(apiUrl: string, databasePath: string): Record<string, string> {
  return {
    TELEGRAM_BOT_TOKEN: BENCH_TOKEN,
    TELEGRAM_API_URL: apiUrl,
    WEBHOOK_SECRET: BENCH_SECRET,
    DATABASE_PATH: databasePath,
    HOST: "127.0.0.1",
    PORT: "0",
    AGENT: "echo",
  };
}

export interface Child {
  url: string;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  stop(): Promise<void>;
}

/** Starts a process and waits for a stdout line matching `pattern` (its first group is the URL). */
export async function startChild(cmd: string[], env: Record<string, string>, pattern = /listening (\S+)/): Promise<Child> {
  const proc = Bun.spawn(cmd, { env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env }, stdout: "pipe", stderr: "pipe" });
  let out = "";
  const decoder = new TextDecoder();
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd.join(" ")} did not start: ${out}`)), 20_000);
    void (async () => {
      let started = false;
      // Reads to the end even after the match, so the child never blocks on a full pipe.
      for await (const chunk of proc.stdout as unknown as AsyncIterable<Uint8Array>) {
        if (started) continue;
        out += decoder.decode(chunk);
        const match = pattern.exec(out);
        if (match) {
          started = true;
          clearTimeout(timer);
          resolve(match[1]!);
        }
      }
      if (!started) reject(new Error(`${cmd.join(" ")} exited: ${out}${await new Response(proc.stderr).text()}`));
    })();
  });
  return {
    url,
    proc,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

/** The fast fake Bot API (fast-bot-api.ts) in a process of its own, and the sendMessage calls it counted. */
export interface FastBotApi extends Child {
  /** sendMessage calls since the last reset, and when the last one came (ms since the epoch). */
  stats(): Promise<{ sent: number; lastSentAt: number }>;
  resetStats(): Promise<void>;
  /** Waits until the echo count has not grown for `quietMs`, at most `maxMs`. */
  settle(quietMs: number, maxMs: number): Promise<void>;
  /**
   * Whether every acked update was echoed within 2 s of the load's end (`endedAt`); when not, waits
   * for the rest as settle(500, drainMs) does, so that stats() then counts them.
   */
  echoesKeptUp(acked: number, endedAt: number, drainMs: number): Promise<boolean>;
}

export async function startFastBotApi(): Promise<FastBotApi> {
  const child = await startChild([process.execPath, join(import.meta.dir, "fast-bot-api.ts"), BENCH_TOKEN], {});
  const stats = async () => (await (await fetch(`${child.url}/stats`)).json()) as { sent: number; lastSentAt: number };
  const resetStats = async () => {
    await (await fetch(`${child.url}/reset`)).arrayBuffer();
  };
  const settle = async (quietMs: number, maxMs: number) => {
    const deadline = Date.now() + maxMs;
    let last = -1;
    let stableSince = Date.now();
    while (Date.now() < deadline) {
      const { sent } = await stats();
      if (sent !== last) {
        last = sent;
        stableSince = Date.now();
      } else if (Date.now() - stableSince >= quietMs) return;
      await Bun.sleep(50);
    }
  };
  const echoesKeptUp = async (acked: number, endedAt: number, drainMs: number) => {
    while (Date.now() < endedAt + 2000 && (await stats()).sent < acked) await Bun.sleep(20);
    const keptUp = (await stats()).sent >= acked;
    if (!keptUp) await settle(500, drainMs);
    return keptUp;
  };
  return { ...child, stats, resetStats, settle, echoesKeptUp };
}

let clockTicks: number | undefined;
/** Clock ticks per second in /proc/<pid>/stat (USER_HZ), asked once, at the first reading. */
const clkTck = () => (clockTicks ??= Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100);

/** CPU time (utime + stime, every thread) the process has used, in µs, from /proc/<pid>/stat. */
export function cpuMicros(pid: number): number {
  // The fields after the command name (which may hold spaces) start after the last ")".
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clkTck();
}

/** The process's peak RSS (VmHWM from /proc/<pid>/status), in MB. */
export function peakRssMb(pid: number): number {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
}

export interface WrkResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
}

function toMs(value: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(value.trim());
  if (!match) return NaN;
  const n = Number(match[1]);
  return match[2] === "us" ? n / 1000 : match[2] === "s" ? n * 1000 : n;
}

function wrkArgs(url: string, connections: number, seconds: number, threads = 2): string[] {
  return ["wrk", `-t${threads}`, `-c${connections}`, `-d${seconds}s`, "--latency", "-s", `${import.meta.dir}/webhook.lua`, url];
}

/** Runs wrk with the webhook script and parses its --latency report (for servers in other processes). */
export function wrk(url: string, connections: number, seconds: number, env: Record<string, string>): WrkResult {
  const run = Bun.spawnSync(wrkArgs(url, connections, seconds), { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const out = run.stdout.toString();
  if (run.exitCode !== 0) throw new Error(`wrk failed: ${out}${run.stderr.toString()}`);
  return parseWrk(out);
}

/** The same without blocking this process, for a server running in it (or several wrk runs at once; `threads` default 2). */
export async function wrkAsync(url: string, connections: number, seconds: number, env: Record<string, string>, threads = 2): Promise<WrkResult> {
  const run = Bun.spawn(wrkArgs(url, connections, seconds, threads), { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text(), run.exited]);
  if (code !== 0) throw new Error(`wrk failed: ${out}${err}`);
  return parseWrk(out);
}

function parseWrk(out: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50 = toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? "");
  const p99 = toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? "");
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((n, v) => n + Number(v), 0) : 0);
  return { requestsPerSecond: rps, p50Ms: p50, p99Ms: p99, requests, errors };
}

export function requireWrk(): void {
  if (Bun.which("wrk")) return;
  console.error("bench: wrk is not installed. Install it with: apt-get install -y wrk");
  process.exit(1);
}

/** A 2 s warm-up with update ids no measured run uses (a durable server dedups by id), then the measured wrk run. */
export function warmThenWrk(url: string, connections: number, seconds: number): WrkResult {
  const env = { WEBHOOK_SECRET: BENCH_SECRET, BENCH_ID_BASE: "1" };
  wrk(url, connections, 2, { ...env, BENCH_ID_BASE: "900000000000" });
  return wrk(url, connections, seconds, env);
}

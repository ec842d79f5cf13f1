/**
 * Several timbre instances as real child processes (`bun src/main.ts`) on one database, behind a
 * round-robin proxy, all talking to one Bot API emulator with the same token and webhook secret;
 * the emulator's webhook points at the proxy, as Telegram's would at a load balancer. The
 * database is a parameter: `databaseUrl` (PostgreSQL, any number of instances) or
 * `databasePath` (SQLite, one instance: SPEC's one database, one instance).
 */
import { existsSync } from "node:fs";
import postgres from "postgres";
import type { BotApiEmulator } from "../../src/sandbox/emulator.ts";
import { connectWebhook, serviceEnv, spawnService, startEmulator, TEST_SECRET, tempDir, type SpawnedService } from "../helpers.ts";
import { RoundRobinProxy } from "./proxy.ts";

export const RIG_ADMIN_TOKEN = "rig-admin-token-0123456789";

export interface RigDatabase {
  /** postgres://…: every instance gets it as DATABASE_URL. */
  databaseUrl?: string;
  /** A SQLite file: DATABASE_PATH of the one instance. */
  databasePath?: string;
}

export interface RigOptions {
  instances: number;
  database: RigDatabase;
  /** More environment for every instance: AGENT, SEND_RATE_*, MAX_CONCURRENCY… */
  env?: Record<string, string>;
}

/** /admin/stats as every instance answers it. */
export interface Stats {
  updates: { received: number; processing: number; done: number; failed: number };
  runs: { running: number; waiting: number; done: number; failed: number; cancelled: number };
  outbox: { queued: number; sending: number; sent: number; failed: number };
}

/** One JSON log line of an instance (a line that is not JSON is kept as its `msg`). */
export interface LogEntry {
  level: string;
  msg: string;
  [field: string]: unknown;
}

export interface Rig {
  emulator: BotApiEmulator;
  proxy: RoundRobinProxy;
  /** The proxy's URL: where webhooks go. */
  url: string;
  size: number;
  /** The environment instance `i` runs with. */
  env(i: number): Record<string, string>;
  /** Instance `i`'s own URL while it runs (undefined once killed). */
  instanceUrl(i: number): string | undefined;
  alive(i: number): boolean;
  /** kill -9 of instance `i`; the proxy keeps its slot and finds it refusing connections. */
  kill9(i: number): Promise<void>;
  /** Starts instance `i` again on the same database (a new port, which the proxy's slot takes). */
  restart(i: number): Promise<void>;
  /** SIGTERM to every live instance, then the proxy, the emulator and the temp folder; resolves to the live ones' exit codes. */
  stopAll(): Promise<(number | null)[]>;
  /** Every output line (stdout and stderr) of instance `i`, over all its lifetimes in order. */
  lines(i: number): string[];
  logs(i: number): LogEntry[];
  /** The instances that answered a webhook POST of this update_id with 200 (in order; duplicates listed each time). */
  servedBy(updateId: number): number[];
  /** `count` update ids never used in this rig (above the emulator's own). */
  takeUpdateIds(count: number): number;
  /** `count` private chat ids never used in this rig. */
  takeChatIds(count: number): number;
  /** GET /admin/stats of the first live instance. */
  stats(): Promise<Stats>;
  /** Waits until no update is waiting to be handled, no run running, and no message queued or being sent (runs waiting for answers may remain). */
  settled(timeoutMs?: number): Promise<Stats>;
}

/** The first update id the rig hands out: far above the emulator's own (100000 on), so the two never meet. */
const FIRST_UPDATE_ID = 1_000_000_000;
const FIRST_CHAT_ID = 100_000_000;

/**
 * Throws unless the instances really keep their data in the PostgreSQL database at `url`: after
 * they said they serve, it must have timbre's tables (migrations run on start).
 */
export async function requirePostgresMode(url: string, ignoredSqliteFile?: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ updates: string | null }[]>`SELECT to_regclass('public.updates')::text AS updates`;
    if (row?.updates) return;
  } finally {
    await sql.end({ timeout: 1 });
  }
  const sqlite = ignoredSqliteFile && existsSync(ignoredSqliteFile) ? ` (it opened the SQLite file ${ignoredSqliteFile} instead)` : "";
  throw new Error(`DATABASE_URL was ignored: the instance said it serves, but ${url.replace(/:[^:@/]*@/, ":***@")} has no timbre tables${sqlite}; PostgreSQL mode is not wired into bun src/main.ts yet`);
}

/**
 * Nothing left to do but wait for people: no update stored and not yet taken, no run running, no
 * message queued or being sent. An update that started a run stays `processing` while the run
 * waits for its answer, so with no run running the processing ones are the waiting runs' own.
 */
function isSettled(stats: Stats): boolean {
  const { updates, runs, outbox } = stats;
  return updates.received === 0 && runs.running === 0 && updates.processing <= runs.waiting && outbox.queued + outbox.sending === 0;
}

function parseLine(line: string): LogEntry {
  try {
    const parsed = JSON.parse(line) as unknown;
    if (typeof parsed === "object" && parsed !== null && "msg" in parsed) return parsed as LogEntry;
  } catch {
    // Not JSON: a crash trace or a line from Bun itself.
  }
  return { level: "raw", msg: line };
}

export async function startRig(options: RigOptions): Promise<Rig> {
  const { databaseUrl, databasePath } = options.database;
  if ((databaseUrl === undefined) === (databasePath === undefined)) throw new Error("startRig: give exactly one of database.databaseUrl and database.databasePath");
  if (databasePath !== undefined && options.instances !== 1) {
    throw new Error(`startRig: SQLite holds one instance per file (SPEC: one database, one instance); ${options.instances} instances need database.databaseUrl`);
  }
  if (!Number.isInteger(options.instances) || options.instances < 1) throw new Error(`startRig: instances must be a whole number of at least 1, got ${options.instances}`);

  const { emulator, apiUrl } = startEmulator();
  const dir = tempDir("timbre-multi-");
  const size = options.instances;
  const children: (SpawnedService | undefined)[] = Array.from({ length: size }, () => undefined);
  const earlierOutput: string[] = Array.from({ length: size }, () => "");
  const served = new Map<number, number[]>();
  const decoder = new TextDecoder();
  const proxy = new RoundRobinProxy(
    children.map(() => undefined),
    {
      onAnswer({ backend, path, status, body }) {
        if (status !== 200 || !path.startsWith("/telegram/webhook")) return;
        const id = (JSON.parse(decoder.decode(body)) as { update_id?: unknown }).update_id;
        if (typeof id !== "number") return;
        const list = served.get(id);
        if (list) list.push(backend);
        else served.set(id, [backend]);
      },
    },
  );

  // In PostgreSQL mode DATABASE_PATH is unused; a file of each instance's own keeps a service that
  // ignores DATABASE_URL away from the repository's ./data (and from the other instances' lock).
  const sqlitePath = (i: number) => databasePath ?? `${dir.path}/instance-${i}-unused.db`;
  const env = (i: number) =>
    serviceEnv(emulator, apiUrl, sqlitePath(i), {
      ADMIN_TOKEN: RIG_ADMIN_TOKEN,
      ...(databaseUrl !== undefined ? { DATABASE_URL: databaseUrl } : {}),
      ...options.env,
    });

  const start = async (i: number) => {
    const child = await spawnService(env(i));
    children[i] = child;
    proxy.setBackend(i, child.url);
  };

  const stopAll = async () => {
    const codes: (number | null)[] = [];
    for (const [i, child] of children.entries()) {
      if (!child || child.proc.exitCode !== null) continue;
      codes.push(await child.terminate());
      earlierOutput[i] += child.output();
      children[i] = undefined;
    }
    proxy.stop();
    emulator.stop();
    dir.cleanup();
    return codes;
  };

  // All at once, as instances started together by a deploy do (and on an empty database, all migrating).
  const started = await Promise.allSettled(children.map((_, i) => start(i)));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) {
    for (const child of children) if (child && child.proc.exitCode === null) await child.kill9();
    proxy.stop();
    emulator.stop();
    dir.cleanup();
    throw failed.reason;
  }
  if (databaseUrl !== undefined) {
    try {
      await requirePostgresMode(databaseUrl, sqlitePath(0));
    } catch (error) {
      await stopAll();
      throw error;
    }
  }
  await connectWebhook(emulator, proxy.url, TEST_SECRET);

  let nextUpdateId = FIRST_UPDATE_ID;
  let nextChatId = FIRST_CHAT_ID;
  const live = (i: number) => {
    const child = children[i];
    return child !== undefined && child.proc.exitCode === null ? child : undefined;
  };
  const lines = (i: number) => (earlierOutput[i]! + (children[i]?.output() ?? "")).split("\n").filter((line) => line !== "");

  const stats = async (): Promise<Stats> => {
    const index = children.findIndex((_, i) => live(i));
    if (index < 0) throw new Error("no instance is running to ask for /admin/stats");
    const response = await fetch(`${live(index)!.url}/admin/stats`, { headers: { authorization: `Bearer ${RIG_ADMIN_TOKEN}` } });
    if (!response.ok) throw new Error(`GET /admin/stats of instance ${index} answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as Stats;
  };

  return {
    emulator,
    proxy,
    url: proxy.url,
    size,
    env,
    instanceUrl: (i) => live(i)?.url,
    alive: (i) => live(i) !== undefined,
    async kill9(i) {
      const child = live(i);
      if (!child) throw new Error(`instance ${i} is not running`);
      await child.kill9();
      earlierOutput[i] += child.output();
      children[i] = undefined;
    },
    async restart(i) {
      if (live(i)) throw new Error(`instance ${i} is still running: kill9 or stop it first`);
      await start(i);
    },
    stopAll,
    lines,
    logs: (i) => lines(i).map(parseLine),
    servedBy: (updateId) => served.get(updateId) ?? [],
    takeUpdateIds(count) {
      const first = nextUpdateId;
      nextUpdateId += count;
      return first;
    },
    takeChatIds(count) {
      const first = nextChatId;
      nextChatId += count;
      return first;
    },
    stats,
    async settled(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last: Stats | undefined;
      for (;;) {
        last = await stats().catch(() => last);
        if (last && isSettled(last)) return last;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for the instances to settle; last /admin/stats: ${JSON.stringify(last)}`);
        await Bun.sleep(50);
      }
    },
  };
}

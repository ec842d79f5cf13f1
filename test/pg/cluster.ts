/**
 * A throwaway PostgreSQL server for tests, from Debian's binaries (`.ci/run` installs them): a
 * temp folder, initdb, pg_ctl on a free 127.0.0.1 port, fsync on (the durability the tests are
 * about). One cluster serves the whole `bun test` run (`sharedCluster()`, started on first use);
 * each test takes a fresh database from it. The preload (test/setup.ts) stops every cluster after
 * the last file, whether tests passed or failed. When PostgreSQL cannot start, the test fails
 * with the reason: nothing here skips.
 */
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { removeAtEndOfRun } from "../end-of-run.ts";

export interface PgCluster {
  /** The maintenance database `postgres` as the superuser `timbre` with its password (TCP on 127.0.0.1). */
  url: string;
  port: number;
  /**
   * Creates a database named after `name` plus a number unique in this run; resolves to its URL.
   * Empty, or with `{ migrated: true }` a copy of a database openPostgres already migrated (faster
   * than migrating each one: for tests about what runs on the tables, not about migrations).
   */
  createDatabase(name: string, options?: { migrated?: boolean }): Promise<string>;
  /** Fast shutdown (open connections are cut), then removes the folder. Idempotent. */
  stop(): Promise<void>;
}

const POSTGRES_ROOT = "/usr/lib/postgresql";
/** A server picked a port another process took meanwhile: try again on a new one this many times. */
const PORT_ATTEMPTS = 3;
/** Seconds pg_ctl waits for the server to start or stop. */
const PG_CTL_WAIT_SECONDS = 60;
/** Three instances with their pools, per test database, plus the tests' own clients. */
const MAX_CONNECTIONS = 300;
/** The database `createDatabase(name, { migrated: true })` copies. */
const MIGRATED_TEMPLATE = "timbre_migrated_template";
/** The superuser's password: TCP logins use SCRAM as in production, so a wrong password is refused. */
export const CLUSTER_PASSWORD = "timbre-test-password";

/** The newest installed major version's bin folder. */
export function postgresBinDir(): string {
  const versions = existsSync(POSTGRES_ROOT)
    ? readdirSync(POSTGRES_ROOT)
        .filter((v) => /^\d+$/.test(v) && existsSync(join(POSTGRES_ROOT, v, "bin/initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(`PostgreSQL is not installed: no ${POSTGRES_ROOT}/<version>/bin/initdb. Install Debian's postgresql (apt-get install -y postgresql; .ci/run does it)`);
  }
  return join(POSTGRES_ROOT, versions[0]!, "bin");
}

interface Identity {
  uid: number;
  gid: number;
}

/** initdb and the server refuse to run as root: as root, they run as the `postgres` user. */
function serverIdentity(): Identity | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  const [, , uid, gid] = line?.split(":") ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error("the tests run as root and there is no postgres user to run PostgreSQL as (installing Debian's postgresql creates it)");
  }
  return { uid: Number(uid), gid: Number(gid) };
}

async function run(cmd: string[], identity: Identity | undefined, cwd: string): Promise<{ code: number; output: string }> {
  const proc = Bun.spawn(cmd, { cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { PATH: "/usr/bin:/bin", LANG: "C" }, ...identity });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, output: `${stdout}${stderr}`.trim() };
}

async function freePort(): Promise<number> {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

function logTail(path: string): string {
  try {
    return readFileSync(path, "utf8").trim().split("\n").slice(-15).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * Stops the server if this test process dies without its end-of-run hook (kill -9, a crash):
 * a detached shell watches the process and the server's pid file, so no server outlives the run.
 */
function startWatchdog(bin: string, dir: string, identity: Identity | undefined): void {
  const script = `while [ -d /proc/$1 ] && [ -f "$2/data/postmaster.pid" ]; do sleep 1; done
if [ -f "$2/data/postmaster.pid" ]; then "$3/pg_ctl" -D "$2/data" stop -m immediate; rm -rf "$2"; fi`;
  const watchdog = Bun.spawn(["sh", "-c", script, "watchdog", String(process.pid), dir, bin], {
    cwd: dir,
    detached: true,
    stdio: ["ignore", "ignore", "ignore"],
    ...identity,
  });
  watchdog.unref();
}

const running = new Set<PgCluster>();
let databaseCount = 0;

export interface ClusterOptions {
  /** More server settings (`-c name=value`; values without spaces), e.g. a benchmark's shared_buffers. */
  settings?: Record<string, string>;
}

/** Starts a cluster of its own (for a test that stops or breaks the server, or a benchmark); most tests want sharedCluster(). */
export async function startCluster(clusterOptions: ClusterOptions = {}): Promise<PgCluster> {
  const bin = postgresBinDir();
  const identity = serverIdentity();
  const dir = mkdtempSync(join(tmpdir(), "timbre-pg-"));
  removeAtEndOfRun(dir);
  if (identity) chownSync(dir, identity.uid, identity.gid);
  const data = join(dir, "data");
  const log = join(dir, "server.log");

  const passwordFile = join(dir, "password");
  writeFileSync(passwordFile, `${CLUSTER_PASSWORD}\n`);
  if (identity) chownSync(passwordFile, identity.uid, identity.gid);
  // --no-sync only skips syncing initdb's template files; the server itself runs with fsync on.
  const init = await run(
    [join(bin, "initdb"), "-D", data, "-U", "timbre", `--pwfile=${passwordFile}`, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
    identity,
    dir,
  );
  if (init.code !== 0) throw new Error(`initdb failed (exit ${init.code}): ${init.output}`);

  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    const options = [
      `-p ${port}`,
      `-k ${dir}`,
      "-c listen_addresses=127.0.0.1",
      "-c fsync=on",
      "-c synchronous_commit=on",
      "-c full_page_writes=on",
      `-c max_connections=${MAX_CONNECTIONS}`,
      ...Object.entries(clusterOptions.settings ?? {}).map(([name, value]) => `-c ${name}=${value}`),
    ].join(" ");
    const start = await run([join(bin, "pg_ctl"), "-D", data, "-o", options, "-l", log, "-w", "-t", String(PG_CTL_WAIT_SECONDS), "start"], identity, dir);
    if (start.code === 0) break;
    const tail = logTail(log);
    if (attempt < PORT_ATTEMPTS && /could not bind|already in use/i.test(tail)) continue;
    throw new Error(`PostgreSQL did not start (pg_ctl exit ${start.code}): ${start.output}\n${tail}`);
  }
  startWatchdog(bin, dir, identity);

  const url = `postgres://timbre:${CLUSTER_PASSWORD}@127.0.0.1:${port}/postgres`;
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  const databaseUrl = (database: string) => `postgres://timbre:${CLUSTER_PASSWORD}@127.0.0.1:${port}/${database}`;
  let migratedTemplate: Promise<string> | undefined;
  // Made once per cluster; nothing stays connected to it, as CREATE DATABASE ... TEMPLATE requires.
  const template = () =>
    (migratedTemplate ??= (async () => {
      await admin.unsafe(`CREATE DATABASE "${MIGRATED_TEMPLATE}"`);
      // Imported here: the preload imports this file, and most test files never touch PostgreSQL.
      const { openPostgres } = await import("../../src/db/pg/index.ts");
      const open = await openPostgres(databaseUrl(MIGRATED_TEMPLATE));
      await open.close();
      return MIGRATED_TEMPLATE;
    })());
  let stopped: Promise<void> | undefined;
  const cluster: PgCluster = {
    url,
    port,
    async createDatabase(name, options = {}) {
      const base = name.toLowerCase().replace(/[^a-z0-9_]+/g, "_").slice(0, 40);
      const database = `${base}_${++databaseCount}`;
      const from = options.migrated ? ` TEMPLATE "${await template()}"` : "";
      await admin.unsafe(`CREATE DATABASE "${database}"${from}`);
      return databaseUrl(database);
    },
    stop() {
      stopped ??= (async () => {
        running.delete(cluster);
        await admin.end({ timeout: 1 });
        const stop = await run([join(bin, "pg_ctl"), "-D", data, "-m", "fast", "-w", "-t", String(PG_CTL_WAIT_SECONDS), "stop"], identity, dir);
        if (stop.code !== 0) throw new Error(`PostgreSQL did not stop (pg_ctl exit ${stop.code}): ${stop.output}\n${logTail(log)}`);
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
  running.add(cluster);
  try {
    // pg_ctl -w has seen the server accept connections; this proves it does so over TCP as `timbre`.
    await admin`SELECT 1`;
  } catch (error) {
    await cluster.stop().catch(() => {});
    throw new Error(`PostgreSQL started but does not accept connections on ${url}: ${error instanceof Error ? error.message : String(error)}\n${logTail(log)}`);
  }
  return cluster;
}

let shared: Promise<PgCluster> | undefined;

/** The run's one cluster, started on first use. A failed start fails every test that asks, with the same reason. */
export function sharedCluster(): Promise<PgCluster> {
  shared ??= startCluster();
  return shared;
}

/** A new database on the shared cluster (empty, or migrated: see PgCluster.createDatabase); resolves to its URL. */
export async function freshDatabase(name: string, options?: { migrated?: boolean }): Promise<string> {
  return (await sharedCluster()).createDatabase(name, options);
}

/** Resolves once `count` statements on the database `sql` is connected to wait on a row lock (fails after 10 s). */
export async function lockWaiters(sql: postgres.Sql, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [row] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`;
    if (row!.n >= count) return;
    if (Date.now() > deadline) throw new Error(`no ${count} statement(s) waiting on a lock within 10 s`);
    await Bun.sleep(10);
  }
}

/** Stops every cluster still running: the preload's afterAll calls it after the last test file. */
export async function stopAllClusters(): Promise<void> {
  await Promise.allSettled([...running].map((cluster) => cluster.stop()));
  shared = undefined;
}

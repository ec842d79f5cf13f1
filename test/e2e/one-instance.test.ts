/**
 * One database, one instance (SPEC "Configuration"): a second timbre on a held DATABASE_PATH, or
 * on a PORT in use, exits 1 with one line; the lock dies with its process, kill -9 included.
 * Real processes throughout.
 */
import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { readFileSync } from "node:fs";
import { InstanceLockError } from "../../src/db/instance-lock.ts";
import { runToExit, spawnService, startInProcess, tempDir, type SpawnedService } from "../helpers.ts";

const dir = tempDir();
const children: SpawnedService[] = [];
afterAll(async () => {
  for (const child of children) if (child.proc.exitCode === null) await child.kill9();
  dir.cleanup();
});

/** The sandbox needs no Telegram: a whole service on its own. */
const sandbox = (databasePath: string, extra: Record<string, string> = {}) => ({ DATABASE_PATH: databasePath, HOST: "127.0.0.1", PORT: "0", AGENT: "echo", LOG_LEVEL: "warn", ...extra });

async function spawn(env: Record<string, string>): Promise<SpawnedService> {
  const child = await spawnService(env);
  children.push(child);
  return child;
}

test("a second timbre on a held DATABASE_PATH exits 1 with one line naming it and the holder's pid; readers still read", async () => {
  const databasePath = `${dir.path}/held.db`;
  const first = await spawn(sandbox(databasePath));
  const second = await runToExit(sandbox(databasePath));
  expect(second.code).toBe(1);
  expect(second.stdout).toBe("");
  expect(second.stderr.trim().split("\n")).toEqual([
    `timbre: DATABASE_PATH=${JSON.stringify(databasePath)} is in use by another timbre (pid ${first.proc.pid}): one database serves one instance; stop that one first or give this one its own DATABASE_PATH`,
  ]);
  // The lock is a file beside the database, not a lock on it: a reader opens the database meanwhile.
  expect(readFileSync(`${databasePath}.lock`, "utf8")).toBe(`${first.proc.pid}\n`);
  const reader = new Database(databasePath, { readonly: true });
  expect(reader.query("SELECT count(*) AS n FROM updates").get()).toEqual({ n: 0 });
  reader.close();
  // The first one never noticed.
  expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
});

test("after kill -9 of the holder a new timbre starts at once on the same database; after a clean stop too", async () => {
  const databasePath = `${dir.path}/killed.db`;
  const first = await spawn(sandbox(databasePath));
  await first.kill9();
  // No clean-up between: the stale lock file is still there, with the dead pid in it.
  expect(readFileSync(`${databasePath}.lock`, "utf8")).toBe(`${first.proc.pid}\n`);
  const second = await spawn(sandbox(databasePath));
  expect(readFileSync(`${databasePath}.lock`, "utf8")).toBe(`${second.proc.pid}\n`);
  expect((await runToExit(sandbox(databasePath))).stderr).toContain(`(pid ${second.proc.pid})`);
  expect(await second.terminate()).toBe(0);
  const third = await spawn(sandbox(databasePath));
  expect((await fetch(`${third.url}/healthz`)).status).toBe(200);
});

test("in one process too: a second start on a held database throws, and stop() releases it", async () => {
  const env = sandbox(`${dir.path}/in-process.db`);
  const first = await startInProcess(env);
  try {
    await expect(startInProcess(env)).rejects.toThrow(InstanceLockError);
  } finally {
    await first.stop();
  }
  const again = await startInProcess(env);
  await again.stop();
});

test("a PORT in use by another timbre exits 1 with one line naming PORT and HOST; the first keeps the port alone", async () => {
  const first = await spawn(sandbox(`${dir.path}/port-a.db`));
  const port = new URL(first.url).port;
  const second = await runToExit(sandbox(`${dir.path}/port-b.db`, { PORT: port }));
  expect(second.code).toBe(1);
  expect(second.stderr.trim().split("\n")).toEqual([
    `timbre: PORT=${port} on HOST=127.0.0.1 is already in use (another timbre, or another program, listens there): stop it or set PORT to a free port`,
  ]);
  // What the second one took is given back: its database can be opened by the next timbre at once.
  const third = await spawn(sandbox(`${dir.path}/port-b.db`));
  expect((await fetch(`${third.url}/healthz`)).status).toBe(200);
});

test("a port held by a listener that allows port sharing (SO_REUSEPORT) is still refused, on every interface", async () => {
  const holder = Bun.serve({ hostname: "0.0.0.0", port: 0, reusePort: true, fetch: () => new Response("holder") });
  try {
    for (const host of ["0.0.0.0", "127.0.0.1"]) {
      const run = await runToExit(sandbox(`${dir.path}/shared-${host}.db`, { HOST: host, PORT: String(holder.port) }));
      expect(run.code).toBe(1);
      expect(run.stderr.trim().split("\n")).toEqual([expect.stringMatching(new RegExp(`^timbre: PORT=${holder.port} on HOST=${host.replaceAll(".", "\\.")} is already in use`))]);
    }
    expect(await (await fetch(`http://127.0.0.1:${holder.port}/`)).text()).toBe("holder");
  } finally {
    holder.stop(true);
  }
});

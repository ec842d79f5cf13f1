/**
 * SPEC "Configuration": "One database, one instance: with SQLite, a second timbre started on a
 * `DATABASE_PATH` that a running timbre holds exits 1 at once with one line naming
 * `DATABASE_PATH`".
 *
 * The instance lock was the file `${DATABASE_PATH}.lock` next to the path as written, not the
 * database file's real path. A DATABASE_PATH that is a symlink to the database a running timbre
 * serves (a `current.db -> timbre-2026.db` link, a second unit file that names the link) got its
 * own lock file, so a second timbre started and served the same SQLite database beside the first.
 * Real processes, a real SQLite file, a real symlink.
 */
import { afterAll, expect, test } from "bun:test";
import { symlinkSync } from "node:fs";
import { spawnService, tempDir, type SpawnedService } from "../helpers.ts";

const dir = tempDir();
const children: SpawnedService[] = [];
afterAll(async () => {
  for (const child of children) if (child.proc.exitCode === null) await child.kill9();
  dir.cleanup();
});

const sandbox = (databasePath: string) => ({ DATABASE_PATH: databasePath, HOST: "127.0.0.1", PORT: "0", AGENT: "echo", LOG_LEVEL: "warn" });

test("a second timbre on a symlink to the database a running timbre holds exits 1 naming DATABASE_PATH", async () => {
  const real = `${dir.path}/timbre.db`;
  const link = `${dir.path}/current.db`;
  const first = await spawnService(sandbox(real));
  children.push(first);
  symlinkSync(real, link);

  // Run to exit with a deadline: if it starts (the bug), it serves until killed.
  const second = Bun.spawn([process.execPath, "src/main.ts"], {
    cwd: `${import.meta.dir}/../..`,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...sandbox(link), LOG_LEVEL: "info" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const exited = await Promise.race([second.exited, Bun.sleep(5_000).then(() => "still running" as const)]);
  const stderr = exited === "still running" ? (second.kill(9), await second.exited, await new Response(second.stderr).text()) : await new Response(second.stderr).text();
  const stdout = await new Response(second.stdout).text();
  const served = /"msg":"timbre is serving"/.test(stdout);
  expect({ exited, served }).toEqual({ exited: 1, served: false });
  expect(stderr).toContain("DATABASE_PATH=");
  expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
});

import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { openPostgres } from "../../src/db/pg/index.ts";
import { migrationJournal } from "../../src/db/pg/migrations.generated.ts";
import { tempDir, waitFor } from "../helpers.ts";
import { freshDatabase, sharedCluster, startCluster } from "./cluster.ts";

test("the shared cluster runs with fsync on and hands out fresh, separate databases", async () => {
  const cluster = await sharedCluster();
  expect(await sharedCluster()).toBe(cluster);
  const first = await freshDatabase("cluster test");
  const second = await freshDatabase("cluster test");
  expect(first).not.toBe(second);
  const sql = postgres(first, { max: 1 });
  try {
    expect([...(await sql`SHOW fsync`)][0]).toEqual({ fsync: "on" });
    expect([...(await sql`SHOW synchronous_commit`)][0]).toEqual({ synchronous_commit: "on" });
    await sql`CREATE TABLE t (x int)`;
    const other = postgres(second, { max: 1 });
    try {
      expect([...(await other`SELECT to_regclass('t') AS t`)]).toEqual([{ t: null }]);
    } finally {
      await other.end();
    }
  } finally {
    await sql.end();
  }
});

test("a migrated database has every table and its migrations recorded, and is a copy of its own", async () => {
  const first = await freshDatabase("cluster migrated", { migrated: true });
  const second = await freshDatabase("cluster migrated", { migrated: true });
  const sql = postgres(first, { max: 1 });
  try {
    expect([...(await sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`)]).toEqual([{ n: migrationJournal.entries.length }]);
    await sql`INSERT INTO settings (key, value) VALUES ('only', 'here')`;
  } finally {
    await sql.end();
  }
  const other = postgres(second, { max: 1 });
  try {
    expect([...(await other`SELECT count(*)::int AS n FROM settings`)]).toEqual([{ n: 0 }]);
  } finally {
    await other.end();
  }
  // Opening it finds nothing left to apply.
  const open = await openPostgres(second);
  await open.close();
});

test("a cluster of its own stops when asked: it no longer accepts connections", async () => {
  const cluster = await startCluster();
  const sql = postgres(cluster.url, { max: 1 });
  expect([...(await sql`SELECT 1 AS one`)]).toEqual([{ one: 1 }]);
  await sql.end();
  await cluster.stop();
  const after = postgres(cluster.url, { max: 1, connect_timeout: 2 });
  await expect(after`SELECT 1`).rejects.toThrow();
  await after.end();
});

test("a test process killed with kill -9 leaves no server behind", async () => {
  const dir = tempDir();
  const script = join(dir.path, "start-and-wait.ts");
  writeFileSync(script, `import { startCluster } from ${JSON.stringify(join(import.meta.dir, "cluster.ts"))};\nconst c = await startCluster();\nconsole.log(JSON.stringify({ url: c.url }));\nsetInterval(() => {}, 1000);\n`);
  const child = Bun.spawn([process.execPath, script], { stdout: "pipe", stderr: "inherit" });
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  const { url } = JSON.parse(new TextDecoder().decode(value)) as { url: string };
  const sql = postgres(url, { max: 1, connect_timeout: 2 });
  expect([...(await sql`SELECT 1 AS one`)]).toEqual([{ one: 1 }]);
  await sql.end();
  child.kill(9);
  await child.exited;
  await waitFor(async () => {
    const probe = postgres(url, { max: 1, connect_timeout: 1 });
    try {
      await probe`SELECT 1`;
      return false;
    } catch {
      return true;
    } finally {
      await probe.end();
    }
  }, "the orphaned server to stop", 15_000, 200);
  dir.cleanup();
});

/**
 * The compiled executable carries PostgreSQL's migrations and driver too: from an empty folder,
 * `timbre migrate-to-postgres` creates the tables in an empty database and copies a SQLite file.
 */
import { afterAll, expect, test } from "bun:test";
import postgres from "postgres";
import { migrationJournal } from "../../src/db/pg/migrations.generated.ts";
import { spawnService, tempDir } from "../helpers.ts";
import { freshDatabase } from "../pg/cluster.ts";
import { builtBinary, runBinary } from "./build.ts";

const dir = tempDir("timbre-bin-pg-");
afterAll(() => dir.cleanup());

test("dist/timbre migrate-to-postgres from an empty folder: PostgreSQL's migrations apply from inside the binary, and the copy runs", async () => {
  const { outfile } = await builtBinary();
  const url = await freshDatabase("binary_migrate");
  // The binary serves the sandbox on ./timbre.db for a moment: the SQLite file to move.
  const service = await spawnService({ DATABASE_PATH: "./timbre.db", PORT: "0", HOST: "127.0.0.1" }, [outfile], dir.path);
  expect(await service.terminate()).toBe(0);
  const run = runBinary(outfile, ["migrate-to-postgres"], dir.path, { DATABASE_PATH: "./timbre.db", DATABASE_URL: url });
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout).toMatch(/^settings +[1-9]\d*$/m);
  const sql = postgres(url, { max: 1 });
  try {
    expect((await sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`)[0]).toEqual({ n: migrationJournal.entries.length });
    expect((await sql`SELECT to_regclass('leases') IS NOT NULL AS present`)[0]).toEqual({ present: true });
  } finally {
    await sql.end();
  }
});

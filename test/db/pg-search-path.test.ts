// timbre keeps its tables, its migrations' record and its lease sequence in the schema public. A
// DATABASE_URL whose search_path points elsewhere used to split them: with `?search_path=bot` the
// tables went to bot and the sequence to public, no chat lease could be taken, and every update
// answered 200 was never processed; with a schema that does not exist, a migrated database
// started and then died on its first query with postgres.js's stack trace. Both now stop the start
// with one line naming DATABASE_URL, before anything is created.
import { afterAll, expect, test } from "bun:test";
import postgres from "postgres";
import { runToExit, startEmulator } from "../helpers.ts";
import { freshDatabase } from "../pg/cluster.ts";

const { emulator, apiUrl } = startEmulator();
afterAll(() => emulator.stop());

const start = (databaseUrl: string) => runToExit({ TELEGRAM_BOT_TOKEN: emulator.token, TELEGRAM_API_URL: apiUrl, DATABASE_URL: databaseUrl, HOST: "127.0.0.1", PORT: "0" });

function oneLineNamingDatabaseUrl({ code, stdout, stderr }: { code: number; stdout: string; stderr: string }): string {
  const output = (stdout + stderr).trim();
  expect({ code, lines: output.split("\n").length }).toEqual({ code: 1, lines: 1 });
  expect(output).toStartWith("timbre: DATABASE_URL=");
  return output;
}

test("?search_path=bot (a schema that exists) stops the start, and nothing is created in it", async () => {
  const url = await freshDatabase("search_path_bot");
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql`CREATE SCHEMA bot`;
    const output = oneLineNamingDatabaseUrl(await start(`${url}?search_path=bot`));
    expect(output).toContain(`timbre keeps its tables in the schema public, but this connection's search_path puts them in "bot"`);
    const tables = await sql`SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')`;
    expect([...tables]).toEqual([]);
  } finally {
    await sql.end();
  }
}, 30_000);

test("?search_path= naming a schema that does not exist, on a migrated database, stops the start with one line", async () => {
  const url = await freshDatabase("search_path_missing", { migrated: true });
  const output = oneLineNamingDatabaseUrl(await start(`${url}?search_path=no_such_schema`));
  expect(output).toContain("puts them in no schema (none of its schemas exists)");
}, 30_000);

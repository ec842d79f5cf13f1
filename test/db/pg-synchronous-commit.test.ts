/**
 * SPEC: "200 only after the update is durably stored"; on PostgreSQL a commit is durable because
 * synchronous_commit is on (src/ingest/pg-inbox.ts). A database or role set to
 * `synchronous_commit = off` (ALTER DATABASE / ALTER ROLE, or postgresql.conf) made every commit
 * return before its WAL was flushed: timbre's 200s then survived no crash of the server. timbre
 * sets it on for its own sessions.
 */
import { expect, test } from "bun:test";
import postgres from "postgres";
import { openPostgres } from "../../src/db/pg/index.ts";
import { freshDatabase } from "../pg/cluster.ts";

test("timbre's PostgreSQL sessions commit with synchronous_commit on, whatever the database's default", async () => {
  const url = await freshDatabase("synchronous commit off", { migrated: true });
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  const name = new URL(url).pathname.slice(1);
  await admin.unsafe(`ALTER DATABASE "${name}" SET synchronous_commit = off`);
  await admin.end();
  // What a session of that database gets unless it says otherwise.
  const plain = postgres(url, { max: 1 });
  expect([...(await plain`SHOW synchronous_commit`)][0]).toEqual({ synchronous_commit: "off" });
  await plain.end();

  const open = await openPostgres(url);
  try {
    expect([...(await open.sql`SHOW synchronous_commit`)][0]).toEqual({ synchronous_commit: "on" });
  } finally {
    await open.close();
  }
});

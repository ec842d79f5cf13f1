import { expect, test } from "bun:test";
import { DatabaseError } from "../../src/db/index.ts";
import { openPostgres } from "../../src/db/pg/index.ts";
import { CLUSTER_PASSWORD, freshDatabase, sharedCluster } from "../pg/cluster.ts";

async function openError(url: string): Promise<DatabaseError> {
  const error = await openPostgres(url, { connectTimeoutSeconds: 5 }).then(
    async (open) => {
      await open.close();
      throw new Error(`${url} opened`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DatabaseError);
  return error as DatabaseError;
}

test("a DATABASE_URL that is not a PostgreSQL URL is refused before connecting", async () => {
  expect((await openError("not a url")).message).toBe("DATABASE_URL is not a URL: expected postgres://user:password@host:5432/database");
  expect((await openError("mysql://root:secret@localhost/db")).message).toBe(
    'DATABASE_URL="mysql://root:***@localhost/db" is not a PostgreSQL URL: expected postgres://user:password@host:5432/database',
  );
});

test("a server that is not there is named as unreachable, with the password hidden", async () => {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  const error = await openError(`postgres://timbre:s3cret@127.0.0.1:${port}/timbre`);
  expect(error.message).toStartWith(`DATABASE_URL="postgres://timbre:***@127.0.0.1:${port}/timbre": cannot reach the PostgreSQL server (ECONNREFUSED`);
  expect(error.message).not.toContain("s3cret");
});

test("a wrong password or an unknown user is a refused login; a missing database says to create it", async () => {
  const { port } = await sharedCluster();
  const database = new URL(await freshDatabase("open_errors")).pathname;
  const wrongPassword = await openError(`postgres://timbre:wrong@127.0.0.1:${port}${database}`);
  expect(wrongPassword.message).toMatch(/^DATABASE_URL="postgres:\/\/timbre:\*\*\*@127\.0\.0\.1:\d+\/open_errors_\d+": PostgreSQL refused the login \(.*password authentication failed.*\); check the user and password in the URL$/);
  const unknownUser = await openError(`postgres://nobody:${CLUSTER_PASSWORD}@127.0.0.1:${port}${database}`);
  expect(unknownUser.message).toMatch(/PostgreSQL refused the login \(.*"nobody".*\); check the user and password in the URL$/);
  const missing = await openError(`postgres://timbre:${CLUSTER_PASSWORD}@127.0.0.1:${port}/no_such_database`);
  expect(missing.message).toMatch(/^DATABASE_URL=".*\/no_such_database": database "no_such_database" does not exist; create it first \(createdb, or CREATE DATABASE\)$/);
  expect(missing.message).not.toContain(CLUSTER_PASSWORD);
});

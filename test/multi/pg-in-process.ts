/** What the in-process PostgreSQL tests share: one emulator, instances started with DATABASE_URL (no DATABASE_PATH), plain SQL clients; all stopped after the file. */
import { afterAll } from "bun:test";
import postgres from "postgres";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/observability/log.ts";
import { startPgService, type PgService } from "../../src/pg-app.ts";
import { serviceEnv, startEmulator } from "../helpers.ts";

export function pgInProcessRig() {
  const { emulator, apiUrl } = startEmulator();
  const services: PgService[] = [];
  const clients: postgres.Sql[] = [];
  afterAll(async () => {
    for (const service of services) await service.stop().catch(() => {});
    for (const sql of clients) await sql.end({ timeout: 1 }).catch(() => {});
    emulator.stop();
  });
  return {
    emulator,
    /** An instance on `url` with `extra` env; stopped after the file unless the test stops it (then call `stopped`). */
    async start(url: string, extra: Record<string, string>): Promise<PgService> {
      const env: Record<string, string | undefined> = serviceEnv(emulator, apiUrl, "/nonexistent/unused.db", { DATABASE_URL: url, ...extra });
      delete env.DATABASE_PATH;
      const service = await startPgService(loadConfig(env as Record<string, string>), { logger: silentLogger });
      services.push(service);
      return service;
    },
    /** The test stopped this instance itself. */
    stopped(service: PgService): void {
      services.splice(services.indexOf(service), 1);
    },
    /** A plain client on `url`, ended after the file. */
    sql(url: string): postgres.Sql {
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      clients.push(sql);
      return sql;
    },
  };
}

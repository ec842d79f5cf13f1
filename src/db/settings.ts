import { eq } from "drizzle-orm";
import type { Db } from "./index.ts";
import { awaited, done, type Op } from "./op.ts";
import type { PgSession } from "./pg/session.ts";
import { settings } from "./schema.ts";

/** Small durable key/values (the generated webhook secret, the polling offset), on either engine. */
export interface SettingsStore {
  get(key: string): Op<string | undefined>;
  /** Inside the caller's transaction when there is one (the poller's offset commits with its updates). */
  set(key: string, value: string): Op<void>;
  /** Stores `value` unless the key has one already; returns the value stored (the first writer's, on a race). */
  setIfAbsent(key: string, value: string): Op<string>;
}

export function sqliteSettings(db: Db): SettingsStore {
  return {
    get: (key) => done(getSetting(db, key)),
    set: (key, value) => done(setSetting(db, key, value)),
    setIfAbsent(key, value) {
      db.insert(settings).values({ key, value }).onConflictDoNothing().run();
      return done(getSetting(db, key)!);
    },
  };
}

export function pgSettings(session: PgSession): SettingsStore {
  return {
    *get(key) {
      const rows = (yield session.client`SELECT value FROM settings WHERE key = ${key}`) as { value: string }[];
      return rows[0]?.value;
    },
    *set(key, value) {
      yield* awaited(session.client`INSERT INTO settings (key, value) VALUES (${key}, ${value}) ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
    },
    *setIfAbsent(key, value) {
      yield* awaited(session.client`INSERT INTO settings (key, value) VALUES (${key}, ${value}) ON CONFLICT (key) DO NOTHING`);
      const rows = (yield session.client`SELECT value FROM settings WHERE key = ${key}`) as { value: string }[];
      return rows[0]!.value;
    },
  };
}

export function getSetting(db: Db, key: string): string | undefined {
  return db.select({ value: settings.value }).from(settings).where(eq(settings.key, key)).get()?.value;
}

export function setSetting(db: Db, key: string, value: string): void {
  db.insert(settings).values({ key, value }).onConflictDoUpdate({ target: settings.key, set: { value } }).run();
}

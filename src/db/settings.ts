import { eq } from "drizzle-orm";
import type { Db } from "./index.ts";
import { settings } from "./schema.ts";

/** Small durable key/values (the generated webhook secret, the polling offset). */
export function getSetting(db: Db, key: string): string | undefined {
  return db.select({ value: settings.value }).from(settings).where(eq(settings.key, key)).get()?.value;
}

export function setSetting(db: Db, key: string, value: string): void {
  db.insert(settings).values({ key, value }).onConflictDoUpdate({ target: settings.key, set: { value } }).run();
}

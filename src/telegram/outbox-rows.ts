import { and, desc, eq, lt } from "drizzle-orm";
import type { Db } from "../db/index.ts";
import { countByStatus } from "../db/count-by-status.ts";
import { outbox, type OutboxStatus } from "../db/schema.ts";
import type { OutboxRow } from "./outbox-types.ts";

/** The outbox table as the admin API and the janitor read it (the send path has its own statements). */
export function outboxRows(db: Db) {
  return {
    counts: (): Record<OutboxStatus, number> => countByStatus(db, outbox, outbox.status, { queued: 0, sending: 0, sent: 0, failed: 0 }),

    list(filter: { status?: OutboxStatus; limit: number; beforeId?: number }): OutboxRow[] {
      const conditions = [filter.status ? eq(outbox.status, filter.status) : undefined, filter.beforeId !== undefined ? lt(outbox.id, filter.beforeId) : undefined].filter(
        (c) => c !== undefined,
      );
      return db
        .select()
        .from(outbox)
        .where(conditions.length ? and(...conditions) : undefined)
        .orderBy(desc(outbox.id))
        .limit(filter.limit)
        .all();
    },

    ofRun: (runId: number): OutboxRow[] => db.select().from(outbox).where(eq(outbox.runId, runId)).orderBy(outbox.id).all(),

    /** Deletes sent rows older than `olderThanMs` before `now`; failed rows are kept twice as long. */
    prune(now: number, olderThanMs: number): number {
      const sent = db.delete(outbox).where(and(eq(outbox.status, "sent"), lt(outbox.updatedAt, now - olderThanMs))).run() as unknown as { changes: number };
      const failed = db.delete(outbox).where(and(eq(outbox.status, "failed"), lt(outbox.updatedAt, now - 2 * olderThanMs))).run() as unknown as {
        changes: number;
      };
      return sent.changes + failed.changes;
    },
  };
}

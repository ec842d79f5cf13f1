import { and, desc, eq, lt } from "drizzle-orm";
import type { Db } from "../db/index.ts";
import type { PgSession } from "../db/pg/session.ts";
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

export type SqliteOutboxRows = ReturnType<typeof outboxRows>;

const ROW_COLUMNS = `id, chat_id AS "chatId", method, text, options, status, attempts, next_attempt_at AS "nextAttemptAt", message_id AS "messageId",
  last_error AS "lastError", run_id AS "runId", update_id AS "updateId", created_at AS "createdAt", updated_at AS "updatedAt"`;

/** The same reads on PostgreSQL, asynchronous. */
export function pgOutboxRows(session: PgSession) {
  const sql = session.pool;
  return {
    async counts(): Promise<Record<OutboxStatus, number>> {
      const out: Record<OutboxStatus, number> = { queued: 0, sending: 0, sent: 0, failed: 0 };
      for (const row of await sql<{ status: OutboxStatus; n: number }[]>`SELECT status, count(*)::int AS n FROM outbox GROUP BY status`) out[row.status] = row.n;
      return out;
    },
    async list(filter: { status?: OutboxStatus; limit: number; beforeId?: number }): Promise<OutboxRow[]> {
      const params: unknown[] = [filter.limit];
      const where: string[] = [];
      if (filter.status) where.push(`status = $${params.push(filter.status)}`);
      if (filter.beforeId !== undefined) where.push(`id < $${params.push(filter.beforeId)}`);
      return (await sql.unsafe(`SELECT ${ROW_COLUMNS} FROM outbox ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT $1`, params as never[])) as unknown as OutboxRow[];
    },
    ofRun: async (runId: number): Promise<OutboxRow[]> => (await sql.unsafe(`SELECT ${ROW_COLUMNS} FROM outbox WHERE run_id = $1 ORDER BY id`, [runId])) as unknown as OutboxRow[],
    async prune(now: number, olderThanMs: number): Promise<number> {
      const sent = await sql`DELETE FROM outbox WHERE status = 'sent' AND updated_at < ${now - olderThanMs}`;
      const failed = await sql`DELETE FROM outbox WHERE status = 'failed' AND updated_at < ${now - 2 * olderThanMs}`;
      return sent.count + failed.count;
    },
  };
}

export type PgOutboxRows = ReturnType<typeof pgOutboxRows>;
export type AnyOutboxRows = SqliteOutboxRows | PgOutboxRows;

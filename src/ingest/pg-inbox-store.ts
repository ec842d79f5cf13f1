import { awaited, type Op } from "../db/op.ts";
import type { PgSession } from "../db/pg/session.ts";
import type { UpdateStatus } from "../db/schema.ts";
import type { InboxStore, NewUpdateRow, UpdateRow } from "./inbox-store.ts";

const INSERT_ROWS = 5_000;
const COLUMNS = `update_id AS "updateId", chat_id AS "chatId", user_id AS "userId", kind, payload, status, error, received_at AS "receivedAt", updated_at AS "updatedAt"`;

/**
 * The inbox on PostgreSQL: inbox-store.ts's operations. A batch of updates is one multi-row
 * INSERT ... ON CONFLICT DO NOTHING whose RETURNING names the new ones, so the group commit costs
 * one round trip whatever its size.
 */
export function pgInboxStore(session: PgSession): InboxStore {
  function* rows<T>(text: string, params: unknown[] = []): Op<T[]> {
    return (yield session.client.unsafe(text, params as never[])) as unknown as T[];
  }
  function* changed(text: string, params: unknown[]): Op<number> {
    return ((yield session.client.unsafe(text, params as never[])) as unknown as { count: number }).count;
  }

  /** One multi-row insert; PostgreSQL takes at most 65,535 parameters per statement, so at most a few thousand rows. */
  function* insertSome(batch: NewUpdateRow[], now: number): Op<number[]> {
    const columns = ["update_id", "chat_id", "user_id", "kind", "payload"] as const;
    const values = batch.map((_, i) => `(${columns.map((__, c) => `$${i * columns.length + c + 2}`).join(", ")}, 'received', $1, $1)`);
    const params = [now, ...batch.flatMap((row) => [row.updateId, row.chatId, row.userId, row.kind, row.payload])];
    const inserted = yield* rows<{ id: number }>(
      `INSERT INTO updates (${columns.join(", ")}, status, received_at, updated_at) VALUES ${values.join(", ")} ON CONFLICT (update_id) DO NOTHING RETURNING update_id AS id`,
      params,
    );
    return inserted.map((row) => row.id);
  }

  return {
    *insert(batch, now) {
      const fresh = new Set<number>();
      for (let start = 0; start < batch.length; start += INSERT_ROWS) for (const id of yield* insertSome(batch.slice(start, start + INSERT_ROWS), now)) fresh.add(id);
      return fresh;
    },
    *row(updateId) {
      return (yield* rows<UpdateRow>(`SELECT ${COLUMNS} FROM updates WHERE update_id = $1`, [updateId]))[0];
    },
    *writeStatus(updateIds, status, error, at) {
      if (updateIds.length === 0) return;
      yield* awaited(session.client.unsafe(`UPDATE updates SET status = $2, error = $3, updated_at = $4 WHERE update_id = ANY($1::bigint[])`, [updateIds, status, error, at] as never[]));
    },
    receivedOfChat: (chatId, limit) =>
      chatId === null
        ? rows<UpdateRow>(`SELECT ${COLUMNS} FROM updates WHERE status = 'received' AND chat_id IS NULL ORDER BY update_id LIMIT $1`, [limit])
        : rows<UpdateRow>(`SELECT ${COLUMNS} FROM updates WHERE status = 'received' AND chat_id = $1 ORDER BY update_id LIMIT $2`, [chatId, limit]),
    received: (limit, afterUpdateId) => rows<UpdateRow>(`SELECT ${COLUMNS} FROM updates WHERE status = 'received' AND update_id > $1 ORDER BY update_id LIMIT $2`, [afterUpdateId, limit]),
    list(filter) {
      const params: unknown[] = [filter.limit];
      const where: string[] = [];
      if (filter.status) where.push(`status = $${params.push(filter.status)}`);
      if (filter.beforeUpdateId !== undefined) where.push(`update_id < $${params.push(filter.beforeUpdateId)}`);
      return rows<UpdateRow>(`SELECT ${COLUMNS} FROM updates ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY update_id DESC LIMIT $1`, params);
    },
    *counts() {
      const out: Record<UpdateStatus, number> = { received: 0, processing: 0, done: 0, failed: 0 };
      for (const row of yield* rows<{ status: UpdateStatus; n: number }>(`SELECT status, count(*)::int AS n FROM updates GROUP BY status`)) out[row.status] = row.n;
      return out;
    },
    *prune(cutoffs) {
      const payloadsDropped = yield* changed(`UPDATE updates SET payload = NULL WHERE status = 'done' AND payload IS NOT NULL AND updated_at < $1`, [cutoffs.payloadsBefore]);
      const done = yield* changed(`DELETE FROM updates WHERE status = 'done' AND received_at < $1`, [cutoffs.doneRowsBefore]);
      const failed = yield* changed(`DELETE FROM updates WHERE status = 'failed' AND received_at < $1`, [cutoffs.failedRowsBefore]);
      return { payloadsDropped, rowsDeleted: done + failed };
    },
  };
}

import type { PgSession } from "../db/pg/session.ts";
import { pgStatements } from "../db/pg/statements.ts";
import type { UpdateStatus } from "../db/schema.ts";
import type { InboxStore, UpdateRow } from "./inbox-store.ts";

const COLUMNS = `update_id AS "updateId", chat_id AS "chatId", user_id AS "userId", kind, payload, status, error, received_at AS "receivedAt", updated_at AS "updatedAt"`;
/**
 * A batch's rows as one array per column: one statement whatever the batch's size, so it is
 * prepared once. Inserted in update_id order: two instances storing copies of the same updates
 * at once then wait on each other's rows in one order, and never deadlock.
 */
const INSERT_UPDATES = `INSERT INTO updates (update_id, chat_id, user_id, kind, payload, status, received_at, updated_at)
  SELECT u.update_id, u.chat_id, u.user_id, u.kind, u.payload, u.status, $1, $1
  FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[]) AS u(update_id, chat_id, user_id, kind, payload, status)
  ORDER BY u.update_id
  ON CONFLICT (update_id) DO NOTHING RETURNING update_id AS id`;

/**
 * Received updates of some chats, but for those the caller has: each chat's through
 * updates_received_of_chat_idx (a lateral read per chat; with `chat_id = ANY($1)` the generic plan
 * of the prepared statement walked the primary key in update_id order instead), then merged, the
 * caller's left out through a hashed NOT IN (`<> ALL` compares each row with the whole array).
 */
const RECEIVED_OF_CHATS = `SELECT u.* FROM unnest($1::bigint[]) AS c(chat_id) CROSS JOIN LATERAL (
    SELECT ${COLUMNS} FROM updates WHERE status = 'received' AND chat_id = c.chat_id ORDER BY update_id LIMIT $2
  ) AS u WHERE u."updateId" NOT IN (SELECT unnest($3::bigint[])) ORDER BY u."updateId" LIMIT $2`;
const RECEIVED_OF_NO_CHAT = `SELECT ${COLUMNS} FROM updates WHERE status = 'received' AND chat_id IS NULL AND update_id NOT IN (SELECT unnest($2::bigint[])) ORDER BY update_id LIMIT $1`;

/**
 * The inbox on PostgreSQL: inbox-store.ts's operations. A batch of updates is one INSERT ...
 * ON CONFLICT DO NOTHING whose RETURNING names the new ones, so the group commit costs one round
 * trip whatever its size.
 */
export function pgInboxStore(session: PgSession): InboxStore {
  const { rows, first, count, run } = pgStatements(session);

  return {
    *insert(batch, now) {
      if (batch.length === 0) return new Set<number>();
      const columns = [batch.map((r) => r.updateId), batch.map((r) => r.chatId), batch.map((r) => r.userId), batch.map((r) => r.kind), batch.map((r) => r.payload), batch.map((r) => r.status ?? "received")];
      const inserted = yield* rows<{ id: number }>(INSERT_UPDATES, [now, ...columns]);
      return new Set(inserted.map((row) => row.id));
    },
    row: (updateId) => first<UpdateRow>(`SELECT ${COLUMNS} FROM updates WHERE update_id = $1`, [updateId]),
    *writeStatus(updateIds, status, error, at) {
      if (updateIds.length === 0) return;
      yield* run(`UPDATE updates SET status = $2, error = $3, updated_at = $4 WHERE update_id = ANY($1::bigint[])`, [updateIds, status, error, at]);
    },
    *receivedOfChats(chatIds, limit, except = []) {
      const chats = chatIds.filter((id) => id !== null);
      const ofChats = chats.length === 0 ? [] : yield* rows<UpdateRow>(RECEIVED_OF_CHATS, [chats, limit, except]);
      if (!chatIds.includes(null)) return ofChats;
      // Those with no chat in a statement of their own: with an OR the two would not share one index scan.
      const ofNone = yield* rows<UpdateRow>(RECEIVED_OF_NO_CHAT, [limit, except]);
      return [...ofChats, ...ofNone].sort((a, b) => a.updateId - b.updateId).slice(0, limit);
    },
    routedTapsSince: (since) =>
      rows<UpdateRow>(`SELECT ${COLUMNS} FROM updates WHERE received_at >= $1 AND kind = 'callback_query' AND status <> 'received' AND payload IS NOT NULL ORDER BY update_id`, [since]),
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
      const payloadsDropped = yield* count(`UPDATE updates SET payload = NULL WHERE status = 'done' AND payload IS NOT NULL AND updated_at < $1`, [cutoffs.payloadsBefore]);
      const done = yield* count(`DELETE FROM updates WHERE status = 'done' AND received_at < $1`, [cutoffs.doneRowsBefore]);
      const failed = yield* count(`DELETE FROM updates WHERE status = 'failed' AND updated_at < $1`, [cutoffs.failedRowsBefore]);
      return { payloadsDropped, rowsDeleted: done + failed };
    },
  };
}

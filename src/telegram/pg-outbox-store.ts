import { pgStatements } from "../db/pg/statements.ts";
import type { PgSession } from "../db/pg/session.ts";
import type { OutboxStatus } from "../db/schema.ts";
import type { SendRow } from "./outbox-send.ts";
import type { OutboxStore, QueuedRow } from "./outbox-store.ts";
import type { OutboxRow } from "./outbox-types.ts";

const SEND_COLUMNS = `id, chat_id, method, text, options, message_id, status, attempts, run_id, update_id`;
/** Every column, named as OutboxRow names them (quoted: PostgreSQL folds bare names to lower case). */
const ROW_COLUMNS = `id, chat_id AS "chatId", method, text, options, status, attempts, next_attempt_at AS "nextAttemptAt", message_id AS "messageId",
  last_error AS "lastError", run_id AS "runId", update_id AS "updateId", created_at AS "createdAt", updated_at AS "updatedAt"`;

/** The outbox's send path on PostgreSQL: outbox-store.ts's statements, one round trip each. */
export function pgOutboxStore(session: PgSession): OutboxStore {
  const { rows, first, count, run } = pgStatements(session);

  return {
    *insert(row, now) {
      const inserted = yield* first<{ id: number }>(
        `INSERT INTO outbox (chat_id, method, text, options, message_id, status, attempts, next_attempt_at, run_id, update_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'queued', 0, $6, $7, $8, $6, $6) RETURNING id`,
        [row.chatId, row.method, row.text, row.options, row.messageId, now, row.runId, row.updateId],
      );
      return inserted!.id;
    },
    read: (id) => first<SendRow>(`SELECT ${SEND_COLUMNS} FROM outbox WHERE id = $1`, [id]),
    readMany: (ids) => (ids.length === 0 ? rows<SendRow>(`SELECT ${SEND_COLUMNS} FROM outbox WHERE false`) : rows<SendRow>(`SELECT ${SEND_COLUMNS} FROM outbox WHERE id = ANY($1::bigint[])`, [ids])),
    markSending: (ids, at) => run(`UPDATE outbox SET status = 'sending', updated_at = $2 WHERE id = ANY($1::bigint[])`, [ids, at]),
    markSent: (marks) =>
      run(
        `UPDATE outbox SET status = 'sent', message_id = v.message_id, attempts = v.attempts, last_error = NULL, updated_at = v.at
         FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::bigint[]) AS v(id, message_id, attempts, at) WHERE outbox.id = v.id`,
        [marks.map((m) => m.id), marks.map((m) => m.messageId), marks.map((m) => m.attempts), marks.map((m) => m.at)],
      ),
    markRetry: (id, attempts, nextAttemptAt, error, at) =>
      run(`UPDATE outbox SET status = 'queued', attempts = $2, next_attempt_at = $3, last_error = $4, updated_at = $5 WHERE id = $1`, [id, attempts, nextAttemptAt, error, at]),
    markFailed: (id, attempts, error, at) => run(`UPDATE outbox SET status = 'failed', attempts = $2, last_error = $3, updated_at = $4 WHERE id = $1`, [id, attempts, error, at]),
    markMoved: (id, to, error, at) =>
      run(`UPDATE outbox SET status = 'queued', chat_id = $2, next_attempt_at = $4, last_error = $3, updated_at = $4 WHERE id = $1`, [id, to, error, at]),
    moveQueued: (from, to, at) => run(`UPDATE outbox SET chat_id = $2, updated_at = $3 WHERE chat_id = $1 AND status = 'queued'`, [from, to, at]),
    requeueSending: (at, chatId) =>
      chatId === undefined
        ? count(`UPDATE outbox SET status = 'queued', updated_at = $1 WHERE status = 'sending'`, [at])
        : count(`UPDATE outbox SET status = 'queued', updated_at = $1 WHERE status = 'sending' AND chat_id = $2`, [at, chatId]),
    queued: (chatId) =>
      chatId === undefined
        ? rows<QueuedRow>(`SELECT id, chat_id AS "chatId", next_attempt_at AS "nextAttemptAt" FROM outbox WHERE status = 'queued' ORDER BY id`)
        : rows<QueuedRow>(`SELECT id, chat_id AS "chatId", next_attempt_at AS "nextAttemptAt" FROM outbox WHERE status = 'queued' AND chat_id = $1 ORDER BY id`, [chatId]),
    requeueFailed: (id, at) =>
      first<OutboxRow>(`UPDATE outbox SET status = 'queued', attempts = 0, next_attempt_at = $2, updated_at = $2 WHERE id = $1 AND status = 'failed' RETURNING ${ROW_COLUMNS}`, [id, at]),
    *lastSentAt(chatId) {
      // The latest answer, not the highest id: a failed message retried by the operator keeps its lower id.
      return (yield* first<{ at: number | null }>(`SELECT max(updated_at) AS at FROM outbox WHERE chat_id = $1 AND status = 'sent'`, [chatId]))?.at ?? undefined;
    },
    sentSince: (since) => rows<{ chatId: number; at: number }>(`SELECT chat_id AS "chatId", max(updated_at) AS at FROM outbox WHERE status = 'sent' AND updated_at >= $1 GROUP BY chat_id`, [since]),
    *status(id) {
      return (yield* first<{ status: OutboxStatus }>(`SELECT status FROM outbox WHERE id = $1`, [id]))?.status;
    },
  };
}

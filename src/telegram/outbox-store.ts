import type { Database } from "bun:sqlite";
import { done, type Op } from "../db/op.ts";
import type { OutboxMethod, OutboxStatus } from "../db/schema.ts";
import type { SendRow } from "./outbox-send.ts";
import type { OutboxRow } from "./outbox-types.ts";

/** A row to store: a message part, or a keyboard edit. */
export interface NewOutboxRow {
  chatId: number;
  method: OutboxMethod;
  text: string;
  options: string | null;
  messageId: number | null;
  runId: number | null;
  updateId: number | null;
}

/** A row Telegram took: its message_id, its attempts counted, when the answer came. */
export interface SentMark {
  id: number;
  messageId: number;
  attempts: number;
  at: number;
}

/** A queued row as the sender loads it on start. */
export interface QueuedRow {
  id: number;
  chatId: number;
  nextAttemptAt: number;
}

/**
 * The outbox's SQL on the send path, as Ops (db/op.ts): SQLite's here, PostgreSQL's in
 * pg-outbox-store.ts. Every write runs inside the caller's transaction (the routing's, a run's,
 * the sender's tick).
 */
export interface OutboxStore {
  insert(row: NewOutboxRow, now: number): Op<number>;
  read(id: number): Op<SendRow | undefined>;
  /** The rows of these ids that exist (in one round trip on PostgreSQL). */
  readMany(ids: number[]): Op<SendRow[]>;
  /** The rows are about to be sent. */
  markSending(ids: readonly number[], at: number): Op<void>;
  /** A tick's sent rows, in one write (on PostgreSQL one statement). */
  markSent(marks: readonly SentMark[]): Op<void>;
  markRetry(id: number, attempts: number, nextAttemptAt: number, error: string, at: number): Op<void>;
  markFailed(id: number, attempts: number, error: string, at: number): Op<void>;
  /** The row goes to the supergroup `to`, queued again. */
  markMoved(id: number, to: number, error: string, at: number): Op<void>;
  /** Every queued row of chat `from` goes to `to`. */
  moveQueued(from: number, to: number, at: number): Op<void>;
  /** `sending` rows (a previous process was cut mid-send) are queued again, of one chat or all; returns how many. */
  requeueSending(at: number, chatId?: number): Op<number>;
  /** Queued rows, oldest first, of one chat or all. */
  queued(chatId?: number): Op<QueuedRow[]>;
  /** When a message to the chat was last answered as sent (a chat taken over keeps its spacing); undefined: none. */
  lastSentAt(chatId: number): Op<number | undefined>;
  /** Every chat whose newest sent message was answered at `since` or later, with when (a restart keeps their spacing). */
  sentSince(since: number): Op<{ chatId: number; at: number }[]>;
  /** A failed row queued again with its attempts reset; undefined when it is not failed. */
  requeueFailed(id: number, at: number): Op<OutboxRow | undefined>;
  status(id: number): Op<OutboxStatus | undefined>;
}

const SEND_COLUMNS = `id, chat_id, method, text, options, message_id, status, attempts, run_id, update_id`;
/** Every column, named as OutboxRow names them. */
export const ROW_COLUMNS = `id, chat_id AS chatId, method, text, options, status, attempts, next_attempt_at AS nextAttemptAt, message_id AS messageId,
  last_error AS lastError, run_id AS runId, update_id AS updateId, created_at AS createdAt, updated_at AS updatedAt`;

/** The send path runs once or twice per message: prepared statements, not a query builder. */
export function sqliteOutboxStore(sqlite: Database): OutboxStore {
  // No RETURNING: the rowid of a plain insert costs less to read back (lastInsertRowid).
  const insert = sqlite.prepare<unknown, [number, string, string, string | null, number | null, number, number | null, number | null, number, number]>(
    `INSERT INTO outbox (chat_id, method, text, options, message_id, status, attempts, next_attempt_at, run_id, update_id, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?, ?)`,
  );
  const read = sqlite.prepare<SendRow, [number]>(`SELECT ${SEND_COLUMNS} FROM outbox WHERE id = ?`);
  const markSending = sqlite.prepare<unknown, [number, number]>(`UPDATE outbox SET status = 'sending', updated_at = ? WHERE id = ?`);
  const markSent = sqlite.prepare<unknown, [number, number, number, number]>(
    `UPDATE outbox SET status = 'sent', message_id = ?, attempts = ?, last_error = NULL, updated_at = ? WHERE id = ?`,
  );
  const markRetry = sqlite.prepare<unknown, [number, number, string, number, number]>(
    `UPDATE outbox SET status = 'queued', attempts = ?, next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ?`,
  );
  const markFailed = sqlite.prepare<unknown, [number, string, number, number]>(`UPDATE outbox SET status = 'failed', attempts = ?, last_error = ?, updated_at = ? WHERE id = ?`);
  const markMoved = sqlite.prepare<unknown, [{ id: number; to: number; error: string; at: number }]>(
    `UPDATE outbox SET status = 'queued', chat_id = $to, next_attempt_at = $at, last_error = $error, updated_at = $at WHERE id = $id`,
  );
  const moveQueued = sqlite.prepare<unknown, [{ from: number; to: number; at: number }]>(`UPDATE outbox SET chat_id = $to, updated_at = $at WHERE chat_id = $from AND status = 'queued'`);
  const requeueSending = sqlite.prepare<unknown, [number]>(`UPDATE outbox SET status = 'queued', updated_at = ? WHERE status = 'sending'`);
  const requeueSendingOfChat = sqlite.prepare<unknown, [number, number]>(`UPDATE outbox SET status = 'queued', updated_at = ? WHERE status = 'sending' AND chat_id = ?`);
  const queued = sqlite.prepare<QueuedRow, []>(`SELECT id, chat_id AS chatId, next_attempt_at AS nextAttemptAt FROM outbox WHERE status = 'queued' ORDER BY id`);
  const queuedOfChat = sqlite.prepare<QueuedRow, [number]>(
    `SELECT id, chat_id AS chatId, next_attempt_at AS nextAttemptAt FROM outbox WHERE status = 'queued' AND chat_id = ? ORDER BY id`,
  );
  const requeueFailed = sqlite.prepare<OutboxRow, [number, number]>(
    `UPDATE outbox SET status = 'queued', attempts = 0, next_attempt_at = ?1, updated_at = ?1 WHERE id = ?2 AND status = 'failed' RETURNING ${ROW_COLUMNS}`,
  );
  const status = sqlite.prepare<{ status: OutboxStatus }, [number]>(`SELECT status FROM outbox WHERE id = ?`);
  // Among the newest 10,000 rows (through outbox_status_idx): a send older than that is long past any spacing,
  // and a chat never sent to would otherwise walk every sent row (SQLite has no index by chat).
  const lastSentAt = sqlite.prepare<{ at: number | null }, [number]>(
    `SELECT max(updated_at) AS at FROM outbox WHERE status = 'sent' AND id > (SELECT coalesce(max(id), 0) - 10000 FROM outbox) AND chat_id = ?`,
  );

  // Bounded like lastSentAt: a message answered moments ago is among the newest rows.
  const sentSince = sqlite.prepare<{ chatId: number; at: number }, [number]>(
    `SELECT chat_id AS chatId, max(updated_at) AS at FROM outbox WHERE status = 'sent' AND id > (SELECT coalesce(max(id), 0) - 10000 FROM outbox) AND updated_at >= ? GROUP BY chat_id`,
  );

  return {
    insert: (row, now) => done(Number(insert.run(row.chatId, row.method, row.text, row.options, row.messageId, now, row.runId, row.updateId, now, now).lastInsertRowid)),
    read: (id) => done(read.get(id) ?? undefined),
    readMany: (ids) => done(ids.map((id) => read.get(id)).filter((row): row is SendRow => row !== null)),
    markSending(ids, at) {
      for (const id of ids) markSending.run(at, id);
      return done(undefined);
    },
    markSent(marks) {
      for (const { id, messageId, attempts, at } of marks) markSent.run(messageId, attempts, at, id);
      return done(undefined);
    },
    markRetry: (id, attempts, nextAttemptAt, error, at) => done(void markRetry.run(attempts, nextAttemptAt, error, at, id)),
    markFailed: (id, attempts, error, at) => done(void markFailed.run(attempts, error, at, id)),
    markMoved: (id, to, error, at) => done(void markMoved.run({ id, to, error, at })),
    moveQueued: (from, to, at) => done(void moveQueued.run({ from, to, at })),
    requeueSending: (at, chatId) => done((chatId === undefined ? requeueSending.run(at) : requeueSendingOfChat.run(at, chatId)).changes),
    queued: (chatId) => done(chatId === undefined ? queued.all() : queuedOfChat.all(chatId)),
    requeueFailed: (id, at) => done(requeueFailed.get(at, id) ?? undefined),
    status: (id) => done(status.get(id)?.status),
    lastSentAt: (chatId) => done(lastSentAt.get(chatId)?.at ?? undefined),
    sentSince: (since) => done(sentSince.all(since)),
  };
}

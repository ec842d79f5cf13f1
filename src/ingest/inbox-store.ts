import type { Database } from "bun:sqlite";
import { done, type Op } from "../db/op.ts";
import type { UpdateStatus, updates } from "../db/schema.ts";

export type UpdateRow = typeof updates.$inferSelect;

/** An update to store, its fields read once (describeUpdate) and its body as Telegram sent it. */
export interface NewUpdateRow {
  updateId: number;
  chatId: number | null;
  userId: number | null;
  kind: string;
  payload: string;
  /** `done` for an update answered inside its own commit (ArrivalRouter); `received` otherwise. */
  status?: "received" | "done";
}

export interface RetentionCutoffs {
  /** Payloads of done updates last changed before this are dropped. */
  payloadsBefore: number;
  doneRowsBefore: number;
  failedRowsBefore: number;
}

/**
 * The inbox's SQL as Ops (db/op.ts): SQLite's here, PostgreSQL's in pg-inbox-store.ts. `insert`
 * and `writeStatus` run inside the caller's transaction (the group commit, the routing).
 */
export interface InboxStore {
  /** Inserts the updates not stored yet; returns the ids that were new (the others are duplicates). */
  insert(rows: NewUpdateRow[], now: number): Op<Set<number>>;
  row(updateId: number): Op<UpdateRow | undefined>;
  writeStatus(updateIds: number[], status: UpdateStatus, error: string | null, at: number): Op<void>;
  /** Received updates after `afterUpdateId`, oldest first. */
  received(limit: number, afterUpdateId: number): Op<UpdateRow[]>;
  /** These chats' received updates (null: those with no chat), oldest first, but for those in `except` (the caller has them already). */
  receivedOfChats(chatIds: readonly (number | null)[], limit: number, except?: readonly number[]): Op<UpdateRow[]>;
  /** Button taps received since `since` and routed already (their answer may have been cut off by a crash), oldest first. */
  routedTapsSince(since: number): Op<UpdateRow[]>;
  /** Newest first. */
  list(filter: { status?: UpdateStatus; limit: number; beforeUpdateId?: number }): Op<UpdateRow[]>;
  counts(): Op<Record<UpdateStatus, number>>;
  prune(cutoffs: RetentionCutoffs): Op<{ payloadsDropped: number; rowsDeleted: number }>;
}

/** Every column, named as UpdateRow names them. */
const COLUMNS = `update_id AS updateId, chat_id AS chatId, user_id AS userId, kind, payload, status, error, received_at AS receivedAt, updated_at AS updatedAt`;
const NO_UPDATES: Record<UpdateStatus, number> = { received: 0, processing: 0, done: 0, failed: 0 };

/** Raw statements, built once: on the hot path building SQL (or mapping rows through Drizzle) per call costs more than running it. */
export function sqliteInboxStore(sqlite: Database): InboxStore {
  const insert = sqlite.prepare<unknown, [number, number | null, number | null, string, string, string, number, number]>(
    `INSERT INTO updates (update_id, chat_id, user_id, kind, payload, status, received_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(update_id) DO NOTHING`,
  );
  const byId = sqlite.prepare<UpdateRow, [number]>(`SELECT ${COLUMNS} FROM updates WHERE update_id = ?`);
  const setStatus = sqlite.prepare<unknown, [{ id: number; status: UpdateStatus; error: string | null; at: number }]>(
    `UPDATE updates SET status = $status, error = $error, updated_at = $at WHERE update_id = $id`,
  );
  const routedTaps = sqlite.prepare<UpdateRow, [number]>(
    `SELECT ${COLUMNS} FROM updates WHERE received_at >= ? AND kind = 'callback_query' AND status <> 'received' AND payload IS NOT NULL ORDER BY update_id`,
  );
  const received = sqlite.prepare<UpdateRow, [number, number]>(`SELECT ${COLUMNS} FROM updates WHERE status = 'received' AND update_id > ? ORDER BY update_id LIMIT ?`);
  const receivedOfChats = sqlite.prepare<UpdateRow, [string, number, string, number]>(
    `SELECT ${COLUMNS} FROM updates WHERE status = 'received' AND (chat_id IN (SELECT value FROM json_each(?)) OR (? AND chat_id IS NULL))
       AND update_id NOT IN (SELECT value FROM json_each(?)) ORDER BY update_id LIMIT ?`,
  );
  const counts = sqlite.prepare<{ status: UpdateStatus; n: number }, []>(`SELECT status, count(*) AS n FROM updates GROUP BY status`);
  const dropPayloads = sqlite.prepare<unknown, [number]>(`UPDATE updates SET payload = NULL WHERE status = 'done' AND payload IS NOT NULL AND updated_at < ?`);
  const deleteDone = sqlite.prepare<unknown, [number]>(`DELETE FROM updates WHERE status = 'done' AND received_at < ?`);
  // A dead letter is kept from when it failed (a retry, or a question timing out days later, fails it anew).
  const deleteFailed = sqlite.prepare<unknown, [number]>(`DELETE FROM updates WHERE status = 'failed' AND updated_at < ?`);

  return {
    insert(rows, now) {
      const fresh = new Set<number>();
      for (const row of rows) if (insert.run(row.updateId, row.chatId, row.userId, row.kind, row.payload, row.status ?? "received", now, now).changes > 0) fresh.add(row.updateId);
      return done(fresh);
    },
    row: (updateId) => done(byId.get(updateId) ?? undefined),
    writeStatus(updateIds, status, error, at) {
      for (const id of updateIds) setStatus.run({ id, status, error, at });
      return done(undefined);
    },
    received: (limit, afterUpdateId) => done(received.all(afterUpdateId, limit)),
    routedTapsSince: (since) => done(routedTaps.all(since)),
    receivedOfChats: (chatIds, limit, except = []) =>
      done(receivedOfChats.all(JSON.stringify(chatIds.filter((id) => id !== null)), chatIds.includes(null) ? 1 : 0, JSON.stringify(except), limit)),
    list(filter) {
      const where = [filter.status ? "status = $status" : "", filter.beforeUpdateId !== undefined ? "update_id < $before" : ""].filter(Boolean);
      const query = sqlite.query<UpdateRow, [Record<string, string | number>]>(
        `SELECT ${COLUMNS} FROM updates ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY update_id DESC LIMIT $limit`,
      );
      // The database is opened strict: named parameters bind without their `$`.
      return done(query.all({ limit: filter.limit, ...(filter.status ? { status: filter.status } : {}), ...(filter.beforeUpdateId !== undefined ? { before: filter.beforeUpdateId } : {}) }));
    },
    counts() {
      const out = { ...NO_UPDATES };
      for (const row of counts.all()) out[row.status] = row.n;
      return done(out);
    },
    prune(cutoffs) {
      const payloadsDropped = dropPayloads.run(cutoffs.payloadsBefore).changes;
      const rowsDeleted = deleteDone.run(cutoffs.doneRowsBefore).changes + deleteFailed.run(cutoffs.failedRowsBefore).changes;
      return done({ payloadsDropped, rowsDeleted });
    },
  };
}

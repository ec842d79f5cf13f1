import { and, asc, desc, eq, isNotNull, lt, sql } from "drizzle-orm";
import type { Clock } from "../clock.ts";
import { relaxedTransaction, type Db } from "../db/index.ts";
import { done, runSync, type Op } from "../db/op.ts";
import { walSyncFor, type WalSync } from "../db/wal-sync.ts";
import { countByStatus } from "../db/count-by-status.ts";
import { updates, type UpdateStatus } from "../db/schema.ts";
import { describeUpdate, type TelegramUpdate } from "./update-shape.ts";

/** An update as the dispatcher sees it. */
export interface StoredUpdate {
  updateId: number;
  chatId: number | null;
  userId: number | null;
  kind: string;
  update: TelegramUpdate;
}

export interface IncomingUpdate {
  update: TelegramUpdate;
  /** The body exactly as Telegram sent it, stored as is so unknown fields survive untouched. */
  raw: string;
}

export interface StoreResult {
  duplicate: boolean;
}

export interface RetentionPolicy {
  /** Payloads of done updates are dropped after this long (the row stays as the dedup key). */
  donePayloadMs: number;
  /** Done updates (the dedup keys) are deleted after this long; at least 48 h. */
  doneRowMs: number;
  /** Failed updates (dead letters, kept for /admin/updates) are deleted after this long. */
  failedRowMs: number;
}

const HOUR = 3_600_000;
export const DEFAULT_RETENTION: RetentionPolicy = { donePayloadMs: HOUR, doneRowMs: 48 * HOUR, failedRowMs: 7 * 24 * HOUR };

interface Pending {
  incoming: IncomingUpdate;
  resolve: (result: StoreResult) => void;
  reject: (error: unknown) => void;
}

export type UpdateRow = typeof updates.$inferSelect;

/**
 * The durable inbox. `store` batches the updates handed to it (in one event-loop turn, or while
 * the previous commit's fsync ran) into one transaction (group commit) and resolves each caller
 * only after that commit is on disk, so a webhook answers 200 only for updates that survive a
 * power loss. The fsync runs off the event loop (WalSync), so other requests are read and
 * checked while it runs.
 * `update_id` is the primary key: a duplicate is a no-op insert and is reported as such.
 */
export class Inbox {
  private pending: Pending[] = [];
  private flushScheduled = false;
  private readonly insert;
  private readonly byId;
  private readonly setStatusById;
  private readonly listeners: ((stored: StoredUpdate[]) => void)[] = [];
  private readonly walSync: WalSync | undefined;
  /** The commit whose fsync is running; updates handed in meanwhile wait for the next commit. */
  private syncing: Promise<void> | undefined;
  /** Transactions committed by store/storeMany (shows the group commit at work). */
  commits = 0;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly retention: RetentionPolicy = DEFAULT_RETENTION,
    walSync: WalSync | undefined = walSyncFor(db.$client),
  ) {
    this.walSync = walSync;
    // Built once as raw statements: on the hot path, building SQL (or mapping rows through
    // Drizzle) per call costs more than running it. Columns are named as UpdateRow names them.
    this.byId = db.$client.prepare<UpdateRow, [{ id: number }]>(
      `SELECT update_id AS updateId, chat_id AS chatId, user_id AS userId, kind, payload, status, error,
         received_at AS receivedAt, updated_at AS updatedAt FROM updates WHERE update_id = $id`,
    );
    this.setStatusById = db.$client.prepare<unknown, [{ id: number; status: UpdateStatus; error: string | null; at: number }]>(
      `UPDATE updates SET status = $status, error = $error, updated_at = $at WHERE update_id = $id`,
    );
    this.insert = db.$client.prepare(
      `INSERT INTO updates (update_id, chat_id, user_id, kind, payload, status, received_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'received', ?, ?) ON CONFLICT(update_id) DO NOTHING`,
    );
  }

  /** Called after each commit with the updates that were new (not duplicates), in update_id order. */
  onStored(listener: (stored: StoredUpdate[]) => void): void {
    this.listeners.push(listener);
  }

  /** Stores one update; resolves once the group commit that contains it is on disk. */
  store(incoming: IncomingUpdate): Promise<StoreResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ incoming, resolve, reject });
      if (!this.flushScheduled && !this.syncing) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * Stores a batch synchronously in one FULL transaction (on disk when it returns);
   * `alsoInTransaction` runs inside the same transaction (the poller commits its offset there).
   * Returns one result per update.
   */
  storeMany(batch: IncomingUpdate[], alsoInTransaction?: () => void): StoreResult[] {
    const { results, fresh } = this.db.$client.transaction(() => this.insertBatch(batch, alsoInTransaction))();
    this.commits++;
    this.announce(fresh);
    return results;
  }

  /** Inserts inside the caller's transaction; reports which updates were new. */
  private insertBatch(batch: IncomingUpdate[], alsoInTransaction?: () => void): { results: StoreResult[]; fresh: StoredUpdate[] } {
    const now = this.clock.now();
    const fresh: StoredUpdate[] = [];
    const results = batch.map(({ update, raw }) => {
      const info = describeUpdate(update);
      const { changes } = this.insert.run(update.update_id, info.chatId, info.userId, info.kind, raw, now, now);
      if (changes > 0) fresh.push({ updateId: update.update_id, ...info, update });
      return { duplicate: changes === 0 };
    });
    alsoInTransaction?.();
    return { results, fresh };
  }

  /** Hands new updates to the dispatcher once they are committed. */
  private announce(fresh: StoredUpdate[]): void {
    if (fresh.length === 0) return;
    fresh.sort((a, b) => a.updateId - b.updateId);
    for (const listener of this.listeners) listener(fresh);
  }

  /**
   * One commit for every update handed in since the last one, then an fsync of the WAL before
   * anyone is answered. While that fsync runs, new updates wait in memory and the next commit
   * takes them all when it ends: their answers would wait for a second fsync anyway, and fewer,
   * larger commits write fewer pages. The runtime hears of the new updates only once they are
   * on disk, so no effect of an update can precede its durable record.
   */
  private flush(): void {
    this.flushScheduled = false;
    if (this.syncing || this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    if (!this.walSync) {
      this.flushFull(batch);
      return;
    }
    let stored: { results: StoreResult[]; fresh: StoredUpdate[] };
    try {
      stored = relaxedTransaction(this.db.$client, () => this.insertBatch(batch.map((p) => p.incoming)));
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    this.commits++;
    this.syncing = this.walSync
      .sync()
      .then(
        () => batch.forEach((p, i) => p.resolve(stored.results[i]!)),
        (error: unknown) => {
          for (const p of batch) p.reject(error);
        },
      )
      .finally(() => {
        this.syncing = undefined;
        try {
          // Committed rows are processed even if the fsync failed: Telegram's retry is then a duplicate.
          this.announce(stored.fresh);
        } finally {
          this.flush();
        }
      });
  }

  /** Without a WAL file (":memory:"), the commit itself is the sync. */
  private flushFull(batch: Pending[]): void {
    let results: StoreResult[];
    try {
      results = this.storeMany(batch.map((p) => p.incoming));
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i]!));
  }

  /** Waits until every update handed to `store` is committed and synced (before the database closes). */
  async settle(): Promise<void> {
    while (this.flushScheduled || this.syncing || this.pending.length > 0) {
      if (this.syncing) await this.syncing;
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await this.walSync?.settle();
  }

  /** Updates not yet handed to the runtime, oldest first (after a crash, these are redone). */
  loadReceived(limit: number, afterUpdateId = -1): StoredUpdate[] {
    const rows = this.db
      .select()
      .from(updates)
      .where(and(eq(updates.status, "received"), sql`${updates.updateId} > ${afterUpdateId}`))
      .orderBy(asc(updates.updateId))
      .limit(limit)
      .all();
    return rows.map(toStored);
  }

  get(updateId: number): StoredUpdate | undefined {
    return runSync(this.read(updateId));
  }

  /** The stored update with its payload (an Op, for the runtime's transactions). */
  read(updateId: number): Op<StoredUpdate | undefined> {
    const row = this.row(updateId);
    return done(row && row.payload !== null ? toStored(row) : undefined);
  }

  row(updateId: number): UpdateRow | undefined {
    return this.byId.get({ id: updateId }) ?? undefined;
  }

  setStatus(updateIds: number | number[], status: UpdateStatus, error: string | null = null): void {
    const ids = Array.isArray(updateIds) ? updateIds : [updateIds];
    if (ids.length === 0) return;
    // The 200 was given when the row was stored; a lost status change is redone after a restart.
    relaxedTransaction(this.db.$client, () => runSync(this.writeStatus(ids, status, error)));
  }

  /** setStatus inside the caller's transaction (an Op, for the runtime's transactions). */
  writeStatus(updateIds: number | number[], status: UpdateStatus, error: string | null = null): Op<void> {
    const at = this.clock.now();
    for (const id of Array.isArray(updateIds) ? updateIds : [updateIds]) this.setStatusById.run({ id, status, error, at });
    return done(undefined);
  }

  /** Puts a failed update back in the queue; false when it is not failed or its payload is gone. */
  retry(updateId: number): StoredUpdate | "not_found" | "not_failed" {
    const row = this.row(updateId);
    if (!row) return "not_found";
    if (row.status !== "failed" || row.payload === null) return "not_failed";
    this.setStatus(updateId, "received");
    return toStored(row);
  }

  list(filter: { status?: UpdateStatus; limit: number; beforeUpdateId?: number }): UpdateRow[] {
    const conditions = [
      filter.status ? eq(updates.status, filter.status) : undefined,
      filter.beforeUpdateId !== undefined ? lt(updates.updateId, filter.beforeUpdateId) : undefined,
    ].filter((c) => c !== undefined);
    return this.db
      .select()
      .from(updates)
      .where(conditions.length ? and(...conditions) : undefined)
      .orderBy(desc(updates.updateId))
      .limit(filter.limit)
      .all();
  }

  counts(): Record<UpdateStatus, number> {
    return countByStatus(this.db, updates, updates.status, { received: 0, processing: 0, done: 0, failed: 0 });
  }

  /** Drops old payloads and old dedup keys per the retention policy; returns what it did. */
  prune(): { payloadsDropped: number; rowsDeleted: number } {
    const now = this.clock.now();
    const client = this.db.$client;
    return client.transaction(() => {
      const payloads = client
        .prepare("UPDATE updates SET payload = NULL WHERE status = 'done' AND payload IS NOT NULL AND updated_at < ?")
        .run(now - this.retention.donePayloadMs).changes;
      const done = client.prepare("DELETE FROM updates WHERE status = 'done' AND received_at < ?").run(now - this.retention.doneRowMs).changes;
      const failed = client.prepare("DELETE FROM updates WHERE status = 'failed' AND received_at < ?").run(now - this.retention.failedRowMs).changes;
      return { payloadsDropped: payloads, rowsDeleted: done + failed };
    })();
  }

  /** True while a stored payload exists for the update (used by tests and admin). */
  hasPayload(updateId: number): boolean {
    return this.db.select({ id: updates.updateId }).from(updates).where(and(eq(updates.updateId, updateId), isNotNull(updates.payload))).get() !== undefined;
  }
}

function toStored(row: UpdateRow): StoredUpdate {
  return {
    updateId: row.updateId,
    chatId: row.chatId,
    userId: row.userId,
    kind: row.kind,
    update: JSON.parse(row.payload ?? "null") as TelegramUpdate,
  };
}

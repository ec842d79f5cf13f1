import type { Clock } from "../clock.ts";
import { relaxedTransaction, type Db } from "../db/index.ts";
import { runSync, type Op } from "../db/op.ts";
import { turnCommitFor, type TurnCommit } from "../db/turn-commit.ts";
import { walSyncFor, type WalSync } from "../db/wal-sync.ts";
import type { UpdateStatus } from "../db/schema.ts";
import { freshUpdates, GroupCommit, newUpdateRow, storeResults, type BatchWrite } from "./group-commit.ts";
import type { ArrivalRouter } from "./arrival-router.ts";
import { sqliteInboxStore, type InboxStore, type NewUpdateRow, type RetentionCutoffs, type UpdateRow } from "./inbox-store.ts";
import type { TelegramUpdate } from "./update-shape.ts";

/** An update as the dispatcher sees it. */
export interface StoredUpdate {
  updateId: number;
  chatId: number | null;
  userId: number | null;
  kind: string;
  update: TelegramUpdate;
  /** When it was stored, for an update read back from its row (one just received leaves it out). */
  receivedAt?: number;
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

export type { UpdateRow } from "./inbox-store.ts";

/**
 * The durable inbox on SQLite. `store` batches the updates handed to it into one transaction
 * (GroupCommit) whose WAL is fsynced off the event loop (WalSync) before each caller is answered,
 * so other requests are read and checked while it runs. `update_id` is the primary key: a
 * duplicate is a no-op insert and is reported as such. Its SQL is inbox-store.ts's; the reads
 * here are synchronous (PgInbox has the same ones, asynchronous).
 */
export class Inbox {
  private readonly store_: InboxStore;
  private readonly group: GroupCommit;
  private readonly listeners: ((stored: StoredUpdate[]) => void)[] = [];
  private readonly walSync: WalSync | undefined;
  private readonly turn: TurnCommit;
  /** Batches committed by storeMany alone (the group commit counts its own). */
  private alone = 0;
  private router: ArrivalRouter | undefined;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly retention: RetentionPolicy = DEFAULT_RETENTION,
    walSync: WalSync | undefined = walSyncFor(db.$client),
  ) {
    this.walSync = walSync;
    this.turn = turnCommitFor(db.$client);
    this.store_ = sqliteInboxStore(db.$client);
    this.group = new GroupCommit(
      (rows, batch) => this.writeBatch(rows, batch),
      (fresh) => this.announce(fresh),
    );
  }

  /** Transactions committed by store/storeMany (shows the group commit at work). */
  get commits(): number {
    return this.group.commits + this.alone;
  }

  /** From now on the webhook's new updates that need no more than an instant reply are answered inside their commit. */
  answerOnArrival(router: ArrivalRouter): void {
    this.router = router;
  }

  /** Called after each commit with the updates that were new (not duplicates), in update_id order. */
  onStored(listener: (stored: StoredUpdate[]) => void): void {
    this.listeners.push(listener);
  }

  /** Stores one update; resolves once the group commit that contains it is on disk. */
  store(incoming: IncomingUpdate): Promise<StoreResult> {
    return this.group.store(incoming);
  }

  /**
   * Stores a batch synchronously in one FULL transaction (on disk when it returns);
   * `alsoInTransaction` runs inside the same transaction (the poller commits its offset there).
   * Returns one result per update.
   */
  storeMany(batch: IncomingUpdate[], alsoInTransaction?: () => void): StoreResult[] {
    const rows = batch.map(newUpdateRow);
    const fresh = this.db.$client.transaction(() => {
      const inserted = runSync(this.store_.insert(rows, this.clock.now()));
      alsoInTransaction?.();
      return inserted;
    })();
    this.alone++;
    this.announce(freshUpdates(batch, rows, fresh));
    return storeResults(batch, fresh);
  }

  /** The group commit's write: a relaxed commit shared with the turn's other writes, then an fdatasync of the WAL (what FULL does, off the event loop). */
  private async writeBatch(rows: NewUpdateRow[], batch: IncomingUpdate[]): Promise<BatchWrite> {
    if (!this.walSync) {
      // Without a WAL file (":memory:"), the commit itself is the sync.
      const written = this.db.$client.transaction(() => runSync(this.insertAnswering(rows, batch)))();
      this.router?.committed(written.answered.size);
      return { ...written, synced: Promise.resolve() };
    }
    // The turn's commit: the routing and outbox writes of the same turn share it.
    // Its sync is shared with the outbox tick's when both are in the commit (the same WAL).
    const { value, synced } = await this.turn.run(() => this.insertAnswering(rows, batch), { now: true, walSync: this.walSync, needsSync: () => true });
    this.router?.committed(value.answered.size);
    return { ...value, synced };
  }

  /** Inserts the batch; the updates the router answers now are inserted `done`, their answers written after them. */
  private *insertAnswering(rows: NewUpdateRow[], batch: IncomingUpdate[]): Op<{ fresh: Set<number>; answered: Set<number> }> {
    const answered = new Set<number>();
    const answers = this.router ? yield* this.router.plan(storedInOrder(rows, batch)) : undefined;
    if (!answers || answers.size === 0) return { fresh: yield* this.store_.insert(rows, this.clock.now()), answered };
    const fresh = yield* this.store_.insert(
      rows.map((row) => (answers.has(row.updateId) ? { ...row, status: "done" as const } : row)),
      this.clock.now(),
    );
    // A duplicate (stored before, or twice in this batch) is answered once, or not at all.
    for (const [updateId, answer] of answers) {
      if (!fresh.has(updateId)) continue;
      yield* answer();
      answered.add(updateId);
    }
    return { fresh, answered };
  }

  /** Hands new updates to the dispatcher once they are committed. */
  private announce(fresh: StoredUpdate[]): void {
    if (fresh.length === 0) return;
    for (const listener of this.listeners) listener(fresh);
  }

  /** Waits until every update handed to `store` is committed and synced (before the database closes). */
  async settle(): Promise<void> {
    await this.group.settle();
    await this.walSync?.settle();
  }

  /** Updates not yet handed to the runtime, oldest first (after a crash, these are redone). */
  loadReceived(limit: number, afterUpdateId = -1): StoredUpdate[] {
    return runSync(this.store_.received(limit, afterUpdateId)).map(toStored);
  }

  /** Button taps received since `since` and routed already (answerRecentTaps). */
  routedTapsSince(since: number): StoredUpdate[] {
    return runSync(this.store_.routedTapsSince(since)).map(toStored);
  }

  get(updateId: number): StoredUpdate | undefined {
    return runSync(this.read(updateId));
  }

  /** The stored update with its payload (an Op, for the runtime's transactions). */
  *read(updateId: number): Op<StoredUpdate | undefined> {
    const row = yield* this.store_.row(updateId);
    return row && row.payload !== null ? toStored(row) : undefined;
  }

  row(updateId: number): UpdateRow | undefined {
    return runSync(this.store_.row(updateId));
  }

  setStatus(updateIds: number | number[], status: UpdateStatus, error: string | null = null): void {
    // The 200 was given when the row was stored; a lost status change is redone after a restart.
    relaxedTransaction(this.db.$client, () => runSync(this.writeStatus(updateIds, status, error)));
  }

  /** setStatus inside the caller's transaction (an Op, for the runtime's transactions). */
  writeStatus(updateIds: number | number[], status: UpdateStatus, error: string | null = null): Op<void> {
    return this.store_.writeStatus(Array.isArray(updateIds) ? updateIds : [updateIds], status, error, this.clock.now());
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
    return runSync(this.store_.list(filter));
  }

  counts(): Record<UpdateStatus, number> {
    return runSync(this.store_.counts());
  }

  /** Drops old payloads and old dedup keys per the retention policy; returns what it did. */
  prune(): { payloadsDropped: number; rowsDeleted: number } {
    const cutoffs = retentionCutoffs(this.clock.now(), this.retention);
    return this.db.$client.transaction(() => runSync(this.store_.prune(cutoffs)))();
  }

  /** True while a stored payload exists for the update (used by tests and admin). */
  hasPayload(updateId: number): boolean {
    return (this.row(updateId)?.payload ?? null) !== null;
  }
}

/** The batch as the runtime sees it, in update_id order (an update that came twice, once). */
function storedInOrder(rows: NewUpdateRow[], batch: IncomingUpdate[]): StoredUpdate[] {
  return freshUpdates(batch, rows, new Set(rows.map((row) => row.updateId)));
}

/** What the retention policy keeps, as of `now`. */
export function retentionCutoffs(now: number, retention: RetentionPolicy): RetentionCutoffs {
  return { payloadsBefore: now - retention.donePayloadMs, doneRowsBefore: now - retention.doneRowMs, failedRowsBefore: now - retention.failedRowMs };
}

export function toStored(row: UpdateRow): StoredUpdate {
  return {
    updateId: row.updateId,
    chatId: row.chatId,
    userId: row.userId,
    kind: row.kind,
    update: JSON.parse(row.payload ?? "null") as TelegramUpdate,
    receivedAt: row.receivedAt,
  };
}

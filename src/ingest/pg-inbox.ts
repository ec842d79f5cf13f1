import type { Clock } from "../clock.ts";
import { runAsync, type Op } from "../db/op.ts";
import type { PgSession } from "../db/pg/session.ts";
import type { UpdateStatus } from "../db/schema.ts";
import { freshUpdates, GroupCommit, newUpdateRow, storeResults } from "./group-commit.ts";
import { DEFAULT_RETENTION, retentionCutoffs, toStored, type IncomingUpdate, type RetentionPolicy, type StoredUpdate, type StoreResult } from "./inbox.ts";
import type { UpdateRow } from "./inbox-store.ts";
import { pgInboxStore } from "./pg-inbox-store.ts";

/**
 * The durable inbox on PostgreSQL: Inbox's behaviour, its reads asynchronous. The group commit is
 * one multi-row INSERT ... ON CONFLICT DO NOTHING per batch of concurrent webhook requests,
 * durable when it returns (synchronous_commit on), so each caller is answered after that one
 * round trip.
 */
export class PgInbox {
  private readonly store_;
  private readonly group: GroupCommit;
  private readonly listeners: ((stored: StoredUpdate[]) => void)[] = [];

  constructor(
    private readonly session: PgSession,
    private readonly clock: Clock,
    private readonly retention: RetentionPolicy = DEFAULT_RETENTION,
  ) {
    this.store_ = pgInboxStore(session);
    this.group = new GroupCommit(
      async (rows) => ({ fresh: await runAsync(this.store_.insert(rows, this.clock.now())), synced: Promise.resolve() }),
      (fresh) => this.announce(fresh),
    );
  }

  get commits(): number {
    return this.group.commits;
  }

  onStored(listener: (stored: StoredUpdate[]) => void): void {
    this.listeners.push(listener);
  }

  store(incoming: IncomingUpdate): Promise<StoreResult> {
    return this.group.store(incoming);
  }

  /** Stores a batch in one transaction with `alsoInTransaction` (the poller's offset). */
  async storeMany(batch: IncomingUpdate[], alsoInTransaction?: () => Op<void>): Promise<StoreResult[]> {
    const rows = batch.map(newUpdateRow);
    const fresh = await this.session.begin(() =>
      runAsync(
        (function* (store, now) {
          const inserted = yield* store.insert(rows, now);
          if (alsoInTransaction) yield* alsoInTransaction();
          return inserted;
        })(this.store_, this.clock.now()),
      ),
    );
    this.announce(freshUpdates(batch, rows, fresh));
    return storeResults(batch, fresh);
  }

  private announce(fresh: StoredUpdate[]): void {
    if (fresh.length === 0) return;
    for (const listener of this.listeners) listener(fresh);
  }

  settle(): Promise<void> {
    return this.group.settle();
  }

  async loadReceived(limit: number, afterUpdateId = -1): Promise<StoredUpdate[]> {
    return (await runAsync(this.store_.received(limit, afterUpdateId))).map(toStored);
  }

  /** These chats' received updates, oldest first, but for those in `except` (the dispatcher has them already). */
  async loadReceivedOfChats(chatIds: readonly (number | null)[], except: readonly number[] = [], limit = 10_000): Promise<StoredUpdate[]> {
    return (await runAsync(this.store_.receivedOfChats(chatIds, limit, except))).map(toStored);
  }

  /** Button taps received since `since` and routed already (answerRecentTaps). */
  async routedTapsSince(since: number): Promise<StoredUpdate[]> {
    return (await runAsync(this.store_.routedTapsSince(since))).map(toStored);
  }

  get(updateId: number): Promise<StoredUpdate | undefined> {
    return runAsync(this.read(updateId));
  }

  *read(updateId: number): Op<StoredUpdate | undefined> {
    const row = yield* this.store_.row(updateId);
    return row && row.payload !== null ? toStored(row) : undefined;
  }

  row(updateId: number): Promise<UpdateRow | undefined> {
    return runAsync(this.store_.row(updateId));
  }

  async setStatus(updateIds: number | number[], status: UpdateStatus, error: string | null = null): Promise<void> {
    await runAsync(this.writeStatus(updateIds, status, error));
  }

  writeStatus(updateIds: number | number[], status: UpdateStatus, error: string | null = null): Op<void> {
    return this.store_.writeStatus(Array.isArray(updateIds) ? updateIds : [updateIds], status, error, this.clock.now());
  }

  async retry(updateId: number): Promise<StoredUpdate | "not_found" | "not_failed"> {
    const row = await this.row(updateId);
    if (!row) return "not_found";
    if (row.status !== "failed" || row.payload === null) return "not_failed";
    await this.setStatus(updateId, "received");
    return toStored(row);
  }

  list(filter: { status?: UpdateStatus; limit: number; beforeUpdateId?: number }): Promise<UpdateRow[]> {
    return runAsync(this.store_.list(filter));
  }

  counts(): Promise<Record<UpdateStatus, number>> {
    return runAsync(this.store_.counts());
  }

  prune(): Promise<{ payloadsDropped: number; rowsDeleted: number }> {
    const cutoffs = retentionCutoffs(this.clock.now(), this.retention);
    return this.session.begin(() => runAsync(this.store_.prune(cutoffs)));
  }

  async hasPayload(updateId: number): Promise<boolean> {
    return ((await this.row(updateId))?.payload ?? null) !== null;
  }
}

import { describeUpdate } from "./update-shape.ts";
import type { IncomingUpdate, StoredUpdate, StoreResult } from "./inbox.ts";
import type { NewUpdateRow } from "./inbox-store.ts";

/** One commit of a batch: which updates were new, and when the commit is on disk. */
export interface BatchWrite {
  fresh: Set<number>;
  /** New updates answered inside the commit (ArrivalRouter): done already, never announced. */
  answered?: ReadonlySet<number>;
  /** Settles once the commit is on disk; rejects when it could not be made durable. */
  synced: Promise<void>;
}

interface Pending {
  incoming: IncomingUpdate;
  resolve: (result: StoreResult) => void;
  reject: (error: unknown) => void;
}

/** An update's row, its fields read once. */
export function newUpdateRow({ update, raw }: IncomingUpdate): NewUpdateRow {
  const info = describeUpdate(update);
  return { updateId: update.update_id, chatId: info.chatId, userId: info.userId, kind: info.kind, payload: raw };
}

/**
 * The webhook's group commit, on either engine: the updates handed in during one event-loop turn,
 * or while the previous commit was being made durable, share one commit, and each caller is
 * answered only once that commit is on disk, so a webhook answers 200 only for updates that
 * survive a power loss. While a commit is syncing, new updates wait in memory and the next commit
 * takes them all: their answers would wait for a second sync anyway, and fewer, larger commits
 * write less. The runtime hears of new updates (`announce`) only once they are on disk, or once
 * committed if the sync failed (Telegram's retry is then a duplicate).
 */
export class GroupCommit {
  private pending: Pending[] = [];
  private flushScheduled = false;
  /** The commit whose sync is running; updates handed in meanwhile wait for the next commit. */
  private syncing: Promise<void> | undefined;
  /** Commits made (shows the group commit at work). */
  commits = 0;

  constructor(
    private readonly write: (rows: NewUpdateRow[], batch: IncomingUpdate[]) => Promise<BatchWrite>,
    private readonly announce: (fresh: StoredUpdate[]) => void,
  ) {}

  store(incoming: IncomingUpdate): Promise<StoreResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ incoming, resolve, reject });
      if (!this.flushScheduled && !this.syncing) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Waits until every update handed to `store` is committed and synced. */
  async settle(): Promise<void> {
    while (this.flushScheduled || this.syncing || this.pending.length > 0) {
      if (this.syncing) await this.syncing;
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.syncing || this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const incoming = batch.map((p) => p.incoming);
    const rows = incoming.map(newUpdateRow);
    let committed: BatchWrite | undefined;
    this.syncing = this.write(rows, incoming)
      .then((write) => {
        committed = write;
        this.commits++;
        return write.synced;
      })
      .then(
        () => {
          const results = storeResults(incoming, committed!.fresh);
          batch.forEach((p, i) => p.resolve(results[i]!));
        },
        (error: unknown) => {
          for (const p of batch) p.reject(error);
        },
      )
      .finally(() => {
        this.syncing = undefined;
        try {
          if (committed) this.announce(freshUpdates(incoming, rows, committed.fresh, committed.answered));
        } finally {
          this.flush();
        }
      });
  }
}

/** One result per update of a batch: new, or a duplicate (the same update twice in one batch, Telegram retrying meanwhile: the second is one). */
export function storeResults(batch: IncomingUpdate[], fresh: Set<number>): StoreResult[] {
  const answered = new Set<number>();
  return batch.map(({ update }) => {
    const duplicate = answered.has(update.update_id) || !fresh.has(update.update_id);
    answered.add(update.update_id);
    return { duplicate };
  });
}

/** The batch's new updates, in update_id order (one that came twice, once), but for those answered already. */
export function freshUpdates(batch: IncomingUpdate[], rows: NewUpdateRow[], fresh: Set<number>, answered?: ReadonlySet<number>): StoredUpdate[] {
  const out: StoredUpdate[] = [];
  const seen = new Set<number>();
  batch.forEach(({ update }, i) => {
    if (!fresh.has(update.update_id) || seen.has(update.update_id) || answered?.has(update.update_id)) return;
    seen.add(update.update_id);
    const { updateId, chatId, userId, kind } = rows[i]!;
    out.push({ updateId, chatId, userId, kind, update });
  });
  return out.sort((a, b) => a.updateId - b.updateId);
}

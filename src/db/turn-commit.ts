import type { Database, Statement } from "bun:sqlite";
import { relaxedTransaction } from "./index.ts";
import { runSync, type Op } from "./op.ts";
import { isTransientStorageError } from "./storage-error.ts";
import { walSyncFor, type WalSync } from "./wal-sync.ts";

/** A write's part of a shared commit, once that commit is in the WAL. */
export interface Committed<T> {
  value: T;
  /** Which commit (1, 2, ...): writes that shared one have the same number. */
  commit: number;
  /** Settles once the commit is on disk: at once for a write that did not ask for it. */
  synced: Promise<void>;
}

/** What a write asks of its commit. */
export interface TurnWriteOptions<T> {
  /** True when the write must be on disk before its caller goes on (default: it need not). */
  needsSync?: (value: T) => boolean;
  /** What makes it durable (default: the connection's WAL). Writes naming the same one share one sync. */
  walSync?: WalSync;
  /** Commit at once, with what is pending, instead of at the end of the turn (the webhook's group commit, already at a turn's end). */
  now?: boolean;
  /** The whole commit failed (disk full, read-only): nothing of it is in the database. */
  onCommitFailed?: (error: unknown) => void;
  /** The write threw inside a shared commit: its own changes were undone (called before the next write of the commit runs). */
  onRolledBack?: (error: unknown) => void;
}

interface Pending {
  fn: () => Op<unknown>;
  needsSync: (value: unknown) => boolean;
  walSync: WalSync | undefined;
  onCommitFailed: ((error: unknown) => void) | undefined;
  onRolledBack: ((error: unknown) => void) | undefined;
  resolve: (committed: Committed<unknown>) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

const SYNCED = Promise.resolve();
const never = () => false;
const byConnection = new WeakMap<Database, TurnCommit>();

/** The connection's one TurnCommit: every writer on it shares its commits. */
export function turnCommitFor(sqlite: Database): TurnCommit {
  let turn = byConnection.get(sqlite);
  if (!turn) {
    turn = new TurnCommit(sqlite, walSyncFor(sqlite));
    byConnection.set(sqlite, turn);
  }
  return turn;
}

/**
 * One relaxed SQLite transaction per event-loop turn for every write handed in meanwhile: the
 * webhook's new updates, the routing of the updates before them, the outbox's `sending` marks and
 * outcomes. Each commit writes every page it changed to the WAL, so one commit instead of three
 * writes the table's last pages once, not three times. Each write runs in its own savepoint when
 * others share the commit: one that throws has only its own changes undone. A database failure
 * fails every write of the commit (onCommitFailed, then its error), with nothing of it committed. A write that must
 * be on disk before it is answered asks for the sync: one fdatasync of the WAL on the thread pool
 * after the commit (what synchronous=FULL does inside COMMIT), shared by all who asked.
 */
export class TurnCommit {
  private pending: Pending[] = [];
  /** Commits made. */
  commits = 0;

  /** Compiled once: prepare() compiles again at each call (0.8 µs a savepoint, against 0.1). */
  private readonly savepoint: { begin: Statement; release: Statement; rollback: Statement };

  constructor(
    private readonly sqlite: Database,
    /** Undefined without a WAL file (":memory:"): the commit is all there is. */
    private readonly walSync: WalSync | undefined,
  ) {
    this.savepoint = { begin: sqlite.prepare("SAVEPOINT turn"), release: sqlite.prepare("RELEASE turn"), rollback: sqlite.prepare("ROLLBACK TO turn") };
  }

  /** Runs `fn`'s (synchronous) operation in the turn's commit; resolves once it is committed. */
  run<T>(fn: () => Op<T>, options: TurnWriteOptions<T> = {}): Promise<Committed<T>> {
    const needsSync = (options.needsSync ?? never) as (value: unknown) => boolean;
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => this.commitPending());
      this.pending.push({ fn, needsSync, walSync: options.walSync ?? this.walSync, onCommitFailed: options.onCommitFailed, onRolledBack: options.onRolledBack, resolve: resolve as (c: Committed<unknown>) => void, reject });
      if (options.now) this.commitPending();
    });
  }

  private commitPending(): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    let outcomes: Outcome[];
    try {
      // IMMEDIATE: the writes read before they write; another connection's commit in between
      // must make this one wait (busy_timeout), not fail its first write.
      outcomes = relaxedTransaction(this.sqlite, () => (batch.length === 1 ? [this.runAlone(batch[0]!)] : batch.map((p) => this.runInSavepoint(p))), {
        immediate: true,
      });
    } catch (error) {
      // A hook that fails too (it reads the database that just failed, or was closed under a
      // late write) must not keep the other writes from hearing of it, nor escape the event loop.
      for (const p of batch) {
        try {
          p.onCommitFailed?.(error);
        } catch {
          // The write's own rejection below still reports the commit's failure.
        }
      }
      for (const p of batch) p.reject(error);
      return;
    }
    const commit = ++this.commits;
    // One fdatasync per WAL file among the writes that asked, shared by all of them.
    const syncs = new Map<WalSync, Promise<void>>();
    const syncedFor = (p: Pending, value: unknown): Promise<void> => {
      if (!p.walSync || !p.needsSync(value)) return SYNCED;
      let synced = syncs.get(p.walSync);
      if (!synced) syncs.set(p.walSync, (synced = p.walSync.sync()));
      return synced;
    };
    batch.forEach((p, i) => {
      const outcome = outcomes[i]!;
      if (!outcome.ok) p.reject(outcome.error);
      else p.resolve({ value: outcome.value, commit, synced: syncedFor(p, outcome.value) });
    });
  }

  /** Alone in its transaction, a write that throws rolls the whole (one-write) transaction back. */
  private runAlone(p: Pending): Outcome {
    return { ok: true, value: runSync(p.fn()) };
  }

  private runInSavepoint(p: Pending): Outcome {
    const { savepoint } = this;
    savepoint.begin.run();
    try {
      const value = runSync(p.fn());
      savepoint.release.run();
      return { ok: true, value };
    } catch (error) {
      // The database failing (or rolling the transaction back itself) fails the whole commit.
      if (isTransientStorageError(error) || !this.sqlite.inTransaction) throw error;
      savepoint.rollback.run();
      savepoint.release.run();
      p.onRolledBack?.(error);
      return { ok: false, error };
    }
  }
}

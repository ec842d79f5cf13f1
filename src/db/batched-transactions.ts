import type { Database } from "bun:sqlite";
import { relaxedTransaction } from "./index.ts";
import { runSync, type Op } from "./op.ts";
import { isTransientStorageError } from "./storage-error.ts";

interface Pending {
  fn: () => Op<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Commits shared by the operations handed in during one turn, on either engine. */
export interface SharedCommits {
  run<T>(fn: () => Op<T>): Promise<T>;
  /** Commits made (shows the batching at work). */
  readonly commits: number;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Relaxed transactions that share one commit with every other one handed in before the next
 * microtask. Under load many runs and chats write in the same turn, and each commit costs a
 * system call per page it writes to the WAL, so a burst commits once instead of once each.
 * Each function runs inside its own savepoint: one that throws has only its own writes undone.
 * A database failure (disk full, read-only) fails the whole batch, with nothing of it committed.
 * Callers continue after the returned promise, so nothing follows a write before its commit.
 */
export class BatchedTransactions implements SharedCommits {
  private pending: Pending[] = [];
  /** Commits made (shows the batching at work). */
  commits = 0;

  constructor(
    private readonly sqlite: Database,
    /** A batch failed with nothing of it committed (caches of what it wrote are stale). */
    private readonly onFailure: (error: unknown) => void = () => {},
  ) {}

  /** Runs `fn`'s operation (synchronous: SQLite's) in the next shared transaction; resolves with its result after the commit. */
  run<T>(fn: () => Op<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.pending.length === 0) queueMicrotask(() => this.commitPending());
      this.pending.push({ fn, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  private commitPending(): void {
    const batch = this.pending;
    this.pending = [];
    let outcomes: Outcome[];
    try {
      // IMMEDIATE: the batch reads before it writes; another connection's commit in between
      // must make it wait (busy_timeout), not fail its first write.
      outcomes = relaxedTransaction(this.sqlite, () => (batch.length === 1 ? [this.runAlone(batch[0]!)] : batch.map((p) => this.runInSavepoint(p))), {
        immediate: true,
      });
      this.commits++;
    } catch (error) {
      this.onFailure(error);
      for (const p of batch) p.reject(error);
      return;
    }
    batch.forEach((p, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) p.resolve(outcome.value);
      else p.reject(outcome.error);
    });
  }

  /** Alone in its transaction, a function that throws rolls the whole (one-function) transaction back. */
  private runAlone(p: Pending): Outcome {
    return { ok: true, value: runSync(p.fn()) };
  }

  private runInSavepoint(p: Pending): Outcome {
    const sqlite = this.sqlite;
    sqlite.prepare("SAVEPOINT batched").run();
    try {
      const value = runSync(p.fn());
      sqlite.prepare("RELEASE batched").run();
      return { ok: true, value };
    } catch (error) {
      // The database failing (or rolling the transaction back itself) fails the whole batch.
      if (isTransientStorageError(error) || !sqlite.inTransaction) throw error;
      sqlite.prepare("ROLLBACK TO batched").run();
      sqlite.prepare("RELEASE batched").run();
      return { ok: false, error };
    }
  }
}

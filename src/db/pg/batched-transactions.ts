import type { SharedCommits } from "../batched-transactions.ts";
import { done, runAsync, type Op } from "../op.ts";
import type { PgSession } from "./session.ts";

interface Pending {
  fn: () => Op<unknown>;
  chatId: number | null | undefined;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * BatchedTransactions (db/batched-transactions.ts) on PostgreSQL: the operations handed in
 * before the next microtask share one transaction and one commit; one that throws has only its
 * own writes undone (the batch is tried first without savepoints, and again with one per
 * operation when one threw); a failed commit fails them all. One batch is in flight at a time;
 * the next collects meanwhile, so a burst costs few round trips.
 */
export class PgBatchedTransactions implements SharedCommits {
  private pending: Pending[] = [];
  private inFlight: Promise<void> | undefined;
  /** Commits made (shows the batching at work). */
  commits = 0;

  constructor(
    private readonly session: PgSession,
    /** A write was undone: the whole batch failed, or the write threw and only its savepoint was (caches of what it wrote are stale). */
    private readonly onFailure: (error: unknown) => void = () => {},
    /** Fences the chats the operations name, in one statement at the top of the batch (ChatScope.fenceAhead). */
    private readonly fenceAhead: (chatIds: Iterable<number | null>) => Op<void> = () => done(undefined),
  ) {}

  run<T>(fn: () => Op<T>, chatId?: number | null): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.pending.length === 0 && !this.inFlight) queueMicrotask(() => void this.commitPending());
      this.pending.push({ fn, chatId, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  /** Resolves once every operation handed in so far has committed or failed. */
  async settle(): Promise<void> {
    while (this.inFlight || this.pending.length > 0) await (this.inFlight ?? Promise.resolve());
  }

  private async commitPending(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    let finished!: () => void;
    this.inFlight = new Promise((resolve) => (finished = resolve));
    try {
      let outcomes: Outcome[];
      try {
        outcomes = await this.writeBatch(batch, false).catch((error: unknown) => {
          if (!(error instanceof OperationThrew)) throw error;
          // Nothing of the batch was committed: again, each operation in its own savepoint.
          this.onFailure(error.cause);
          return this.writeBatch(batch, true);
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
    } finally {
      this.inFlight = undefined;
      finished();
      if (this.pending.length > 0) void this.commitPending();
    }
  }

  /**
   * The batch in one transaction, its operations one after another. Without savepoints (the
   * first try: a savepoint is a round trip per operation) the first that throws rolls the whole
   * transaction back (OperationThrew); with them, one that throws is undone alone.
   */
  private writeBatch(batch: Pending[], savepoints: boolean): Promise<Outcome[]> {
    return this.session.begin(async () => {
      if (batch.length === 1) return [{ ok: true, value: await runAsync(batch[0]!.fn()) } as Outcome];
      // One statement for the fences the operations below would each send (one round trip per chat).
      await runAsync(this.fenceAhead(chatsOf(batch)));
      const results: Outcome[] = [];
      for (const p of batch) {
        if (!savepoints) {
          try {
            results.push({ ok: true, value: await runAsync(p.fn()) });
          } catch (error) {
            throw new OperationThrew(error);
          }
          continue;
        }
        try {
          results.push({ ok: true, value: await this.session.savepoint(() => runAsync(p.fn())) });
        } catch (error) {
          // Only its savepoint was undone; the writes after it must not trust caches of what it did.
          this.onFailure(error);
          results.push({ ok: false, error });
        }
      }
      return results;
    });
  }
}

/** An operation of a batch tried without savepoints threw: the transaction is rolled back. */
class OperationThrew extends Error {
  constructor(override readonly cause: unknown) {
    super("an operation of the batch threw");
  }
}

function* chatsOf(batch: Pending[]): Iterable<number | null> {
  for (const p of batch) if (p.chatId !== undefined) yield p.chatId;
}

import { BatchedTransactions, type SharedCommits } from "../db/batched-transactions.ts";
import { relaxedTransaction, type Db } from "../db/index.ts";
import { runAsync, runSync, type Op } from "../db/op.ts";
import { PgBatchedTransactions } from "../db/pg/batched-transactions.ts";
import type { PgSession } from "../db/pg/session.ts";
import type { ChatScope } from "./chat-scope.ts";
import { pgRunReads, sqliteRunReads, type AnyRunReads, type PgRunReads, type SqliteRunReads } from "./run-reads.ts";
import { pgRunStore } from "./pg-run-store.ts";
import { prepareRunStore, type RunStore } from "./run-store.ts";

/** Where the runtime keeps runs, journals, memories and queued updates, on one engine. */
export interface RunStorage<Reads extends AnyRunReads = AnyRunReads> {
  store: RunStore;
  reads: Reads;
  /**
   * Commits shared by the writes of one turn; `onFailure` hears of a write undone (its own error,
   * or a batch that committed nothing); `scope` fences the chats a batch's writes name together.
   */
  sharedCommits(onFailure: (error: unknown) => void, scope: ChatScope): SharedCommits;
  /** A transaction of its own (relaxed on SQLite: redone from the journal after a loss), or the caller's. */
  transaction<T>(fn: () => Op<T>, options?: { immediate?: boolean }): Promise<T>;
}

export function sqliteRunStorage(db: Db): RunStorage<SqliteRunReads> {
  const store = prepareRunStore(db.$client);
  return {
    store,
    reads: sqliteRunReads(db, store),
    sharedCommits: (onFailure) => new BatchedTransactions(db.$client, onFailure),
    // Synchronous inside: it has committed (or thrown) before this returns its promise.
    transaction: async (fn, options) => relaxedTransaction(db.$client, () => runSync(fn()), options),
  };
}

export function pgRunStorage(session: PgSession): RunStorage<PgRunReads> {
  const store = pgRunStore(session);
  return {
    store,
    reads: pgRunReads(session, store),
    sharedCommits: (onFailure, scope) => new PgBatchedTransactions(session, onFailure, (chatIds) => scope.fenceAhead(chatIds)),
    transaction: (fn) => session.begin(() => runAsync(fn())),
  };
}

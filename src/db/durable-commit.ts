import type { Database } from "bun:sqlite";
import { runAsync, type Op } from "./op.ts";
import type { PgSession } from "./pg/session.ts";
import { turnCommitFor } from "./turn-commit.ts";

/**
 * A commit that is on disk when its promise resolves, for writes that must precede an effect
 * outside (the outbox's `sending` marks before the sends). It rejects only when nothing was
 * committed.
 */
export interface DurableCommit {
  /** `wrote(value)` false: the operations wrote nothing, so nothing needs to reach the disk. */
  commit<T>(fn: () => Op<T>, wrote?: (value: T) => boolean): Promise<T>;
}

/**
 * SQLite: the operations join the turn's shared commit (TurnCommit), then an fdatasync of the WAL
 * on the thread pool: what synchronous=FULL does inside COMMIT, without blocking the event loop.
 * A failed fsync is reported to `onSyncError` and not rethrown: the commit is in the WAL (it
 * survives kill -9); only a power loss could still lose it. Without a WAL file (":memory:") the
 * commit is all there is.
 */
export function sqliteDurableCommit(sqlite: Database, onSyncError: (error: unknown) => void): DurableCommit {
  const turn = turnCommitFor(sqlite);
  return {
    async commit<T>(fn: () => Op<T>, wrote?: (value: T) => boolean): Promise<T> {
      const { value, synced } = await turn.run(fn, { needsSync: (value) => wrote?.(value) !== false });
      await synced.catch(onSyncError);
      return value;
    },
  };
}

/** PostgreSQL: a transaction, durable at its commit (synchronous_commit on). */
export function pgDurableCommit(session: PgSession): DurableCommit {
  return { commit: (fn) => session.begin(() => runAsync(fn())) };
}

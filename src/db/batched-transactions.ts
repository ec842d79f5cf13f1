import type { Database } from "bun:sqlite";
import type { Op } from "./op.ts";
import { turnCommitFor, type TurnCommit } from "./turn-commit.ts";

/** Commits shared by the operations handed in during one turn, on either engine. */
export interface SharedCommits {
  /**
   * `chatId`: the chat whose fence the operation passes first (ChatScope); a batch may fence the
   * chats of all its operations at once (PostgreSQL), making their own fences free.
   */
  run<T>(fn: () => Op<T>, chatId?: number | null): Promise<T>;
  /** Commits made (shows the batching at work). */
  readonly commits: number;
}

/**
 * Relaxed transactions that share one commit with every other write of the same event-loop turn
 * on the connection (TurnCommit: the webhook's updates and the outbox's marks included). Each
 * function runs inside its own savepoint: one that throws has only its own writes undone. A
 * database failure (disk full, read-only) fails the whole batch, with nothing of it committed.
 * Callers continue after the returned promise, so nothing follows a write before its commit.
 */
export class BatchedTransactions implements SharedCommits {
  /** Commits made that held at least one of these writes (shows the batching at work). */
  commits = 0;
  private lastCommit = 0;
  private readonly turn: TurnCommit;
  private readonly options: { onCommitFailed: (error: unknown) => void; onRolledBack: (error: unknown) => void };

  constructor(
    sqlite: Database,
    /** A write was undone: the whole batch failed, or the write threw and only its savepoint was (caches of what it wrote are stale). */
    onFailure: (error: unknown) => void = () => {},
  ) {
    this.turn = turnCommitFor(sqlite);
    this.options = { onCommitFailed: onFailure, onRolledBack: onFailure };
  }

  /** Runs `fn`'s operation (synchronous: SQLite's) in the next shared transaction; resolves with its result after the commit. */
  async run<T>(fn: () => Op<T>): Promise<T> {
    const { value, commit } = await this.turn.run(fn, this.options);
    if (commit !== this.lastCommit) {
      this.lastCommit = commit;
      this.commits++;
    }
    return value;
  }
}

import { AsyncLocalStorage } from "node:async_hooks";
import type { Sql, TransactionSql } from "postgres";

/** A client queries run on: the pool, or one transaction's connection. */
export type PgClient = Sql | TransactionSql;

interface Current {
  tx: TransactionSql;
  /** Run once the outermost transaction has committed (dropped if it rolls back). */
  afterCommit: (() => void)[];
  ended: boolean;
  /** Lease tokens fenced for the rest of the transaction outside any savepoint (so no rollback to one drops their locks). */
  fencedAhead: Map<string, number>;
  /** True inside a savepoint of the transaction. */
  inSavepoint: boolean;
}

/**
 * Which connection a PostgreSQL store's operations use: the transaction of the batch being run
 * (docs/several-instances.md), found through the async context, else the pool. Stores read
 * `client` inside their operations' bodies, which `runAsync` resumes within that context, so
 * logic written once over `yield*` (routing, the journal) joins the transaction it runs in,
 * while other code running meanwhile (an admin read) keeps using the pool.
 */
export class PgSession {
  private readonly transaction = new AsyncLocalStorage<Current>();

  constructor(readonly pool: Sql) {}

  get client(): PgClient {
    return this.current()?.tx ?? this.pool;
  }

  get inTransaction(): boolean {
    return this.current() !== undefined;
  }

  /** The current transaction's leases fenced ahead (name → token), or undefined outside a transaction. */
  get fencedAhead(): Map<string, number> | undefined {
    return this.current()?.fencedAhead;
  }

  get inSavepoint(): boolean {
    return this.current()?.inSavepoint ?? false;
  }

  /**
   * Runs `fn` once what the current transaction wrote is committed, and so visible to other
   * connections (the outbox's sender reads a stored message on its own connection); at once
   * outside a transaction.
   */
  afterCommit(fn: () => void): void {
    const current = this.current();
    if (current) current.afterCommit.push(fn);
    else fn();
  }

  /**
   * Runs `fn` inside a savepoint of the current transaction, its operations on the savepoint's
   * handle: postgres.js fails the whole transaction at its end for an error in a query made on the
   * outer handle, even one caught inside a savepoint.
   */
  savepoint<T>(fn: () => Promise<T>): Promise<T> {
    const current = this.current();
    if (!current) throw new Error("PgSession.savepoint outside a transaction");
    return current.tx.savepoint((sp) => this.transaction.run({ ...current, tx: sp, inSavepoint: true }, fn)) as Promise<T>;
  }

  /** Runs `fn` in one transaction; the stores' operations inside it use its connection. */
  async begin<T>(fn: (tx: TransactionSql) => Promise<T>): Promise<T> {
    const joined = this.current();
    // Inside a transaction already: join it, as SQLite's relaxedTransaction does.
    if (joined) return fn(joined.tx);
    let current: Current | undefined;
    const result = (await this.pool.begin((tx) => {
      current = { tx, afterCommit: [], ended: false, fencedAhead: new Map(), inSavepoint: false };
      return this.transaction.run(current, async () => {
        try {
          return await fn(tx);
        } finally {
          // Work that outlives the transaction (a timer it set) uses the pool.
          current!.ended = true;
        }
      });
    })) as T;
    for (const callback of current!.afterCommit) callback();
    return result;
  }

  private current(): Current | undefined {
    const current = this.transaction.getStore();
    return current && !current.ended ? current : undefined;
  }
}

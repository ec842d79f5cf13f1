import { AsyncLocalStorage } from "node:async_hooks";
import type { Sql, TransactionSql } from "postgres";

/** A client queries run on: the pool, or one transaction's connection. */
export type PgClient = Sql | TransactionSql;

interface Current {
  tx: TransactionSql;
  /** Run once the outermost transaction has committed (dropped if it rolls back). */
  afterCommit: (() => void)[];
  ended: boolean;
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
    return current.tx.savepoint((sp) => this.transaction.run({ ...current, tx: sp }, fn)) as Promise<T>;
  }

  /** Runs `fn` in one transaction; the stores' operations inside it use its connection. */
  async begin<T>(fn: (tx: TransactionSql) => Promise<T>): Promise<T> {
    const joined = this.current();
    // Inside a transaction already: join it, as SQLite's relaxedTransaction does.
    if (joined) return fn(joined.tx);
    let current: Current | undefined;
    const result = (await this.pool.begin((tx) => {
      current = { tx, afterCommit: [], ended: false };
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

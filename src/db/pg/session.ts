import { AsyncLocalStorage } from "node:async_hooks";
import type { Sql, TransactionSql } from "postgres";

/** A client queries run on: the pool, or one transaction's connection. */
export type PgClient = Sql | TransactionSql;

/**
 * Which connection a PostgreSQL store's operations use: the transaction of the batch being run
 * (docs/several-instances.md), found through the async context, else the pool. Stores read
 * `client` inside their operations' bodies, which `runAsync` resumes within that context, so
 * logic written once over `yield*` (routing, the journal) joins the transaction it runs in,
 * while other code running meanwhile (an admin read) keeps using the pool.
 */
export class PgSession {
  private readonly transaction = new AsyncLocalStorage<TransactionSql>();
  /** Transactions that have ended: work that outlived one (a timer it set) uses the pool. */
  private readonly ended = new WeakSet<TransactionSql>();

  constructor(readonly pool: Sql) {}

  get client(): PgClient {
    return this.current() ?? this.pool;
  }

  get inTransaction(): boolean {
    return this.current() !== undefined;
  }

  private current(): TransactionSql | undefined {
    const tx = this.transaction.getStore();
    return tx && !this.ended.has(tx) ? tx : undefined;
  }

  /**
   * Runs `fn` inside a savepoint of the current transaction, its operations on the savepoint's
   * handle: postgres.js fails the whole transaction at its end for an error in a query made on the
   * outer handle, even one caught inside a savepoint.
   */
  savepoint<T>(fn: () => Promise<T>): Promise<T> {
    const current = this.current();
    if (!current) throw new Error("PgSession.savepoint outside a transaction");
    return current.savepoint((sp) => this.transaction.run(sp, fn)) as Promise<T>;
  }

  /** Runs `fn` in one transaction; the stores' operations inside it use its connection. */
  begin<T>(fn: (tx: TransactionSql) => Promise<T>): Promise<T> {
    const current = this.current();
    // Inside a transaction already: join it, as SQLite's relaxedTransaction does.
    if (current) return fn(current);
    return this.pool.begin((tx) =>
      this.transaction.run(tx, async () => {
        try {
          return await fn(tx);
        } finally {
          this.ended.add(tx);
        }
      }),
    ) as Promise<T>;
  }
}

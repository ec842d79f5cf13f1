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

  constructor(readonly pool: Sql) {}

  get client(): PgClient {
    return this.transaction.getStore() ?? this.pool;
  }

  get inTransaction(): boolean {
    return this.transaction.getStore() !== undefined;
  }

  /**
   * Runs `fn` inside a savepoint of the current transaction, its operations on the savepoint's
   * handle: postgres.js fails the whole transaction at its end for an error in a query made on the
   * outer handle, even one caught inside a savepoint.
   */
  savepoint<T>(fn: () => Promise<T>): Promise<T> {
    const current = this.transaction.getStore();
    if (!current) throw new Error("PgSession.savepoint outside a transaction");
    return current.savepoint((sp) => this.transaction.run(sp, fn)) as Promise<T>;
  }

  /** Runs `fn` in one transaction; the stores' operations inside it use its connection. */
  begin<T>(fn: (tx: TransactionSql) => Promise<T>): Promise<T> {
    const current = this.transaction.getStore();
    // Inside a transaction already: join it, as SQLite's relaxedTransaction does.
    if (current) return fn(current);
    return this.pool.begin((tx) => this.transaction.run(tx, () => fn(tx))) as Promise<T>;
  }
}

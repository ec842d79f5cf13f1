import { pgDurableCommit, sqliteDurableCommit, type DurableCommit } from "../db/durable-commit.ts";
import { relaxedTransaction, type Db } from "../db/index.ts";
import { runSync, type Op } from "../db/op.ts";
import type { PgSession } from "../db/pg/session.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import { outboxRows, pgOutboxRows, type AnyOutboxRows, type PgOutboxRows, type SqliteOutboxRows } from "./outbox-rows.ts";
import { sqliteOutboxStore, type OutboxStore } from "./outbox-store.ts";
import { pgOutboxStore } from "./pg-outbox-store.ts";

/** Where the outbox keeps its rows: the send path's store, its durable commit, the admin reads. */
export interface OutboxStorage<Rows extends AnyOutboxRows = SqliteOutboxRows> {
  store: OutboxStore;
  durable: DurableCommit;
  rows: Rows;
  /** Runs a write on its own, outside any caller's transaction (SQLite's is synchronous). */
  transaction<T>(fn: () => Op<T>): T;
  /**
   * Runs `fn` once the caller's transaction has committed: the sender reads rows on PostgreSQL
   * on a connection of its own. SQLite's one connection sees them at once.
   */
  afterCommit(fn: () => void): void;
}

/** The outbox on the SQLite database. */
export function sqliteOutboxStorage(db: Db, log: Logger): OutboxStorage<SqliteOutboxRows> {
  return {
    store: sqliteOutboxStore(db.$client),
    // The commit is in the WAL (it survives kill -9); only a power loss could still lose it.
    durable: sqliteDurableCommit(db.$client, (error) => log.error("outbox: the WAL fsync failed; going on", errorFields(error))),
    rows: outboxRows(db),
    transaction: (fn) => relaxedTransaction(db.$client, () => runSync(fn())),
    afterCommit: (fn) => fn(),
  };
}

/** The outbox on PostgreSQL: rows are stored only inside a caller's transaction (enqueueOp). */
export function pgOutboxStorage(session: PgSession): OutboxStorage<PgOutboxRows> {
  return {
    store: pgOutboxStore(session),
    durable: pgDurableCommit(session),
    rows: pgOutboxRows(session),
    transaction: () => {
      throw new Error("on PostgreSQL the outbox stores rows only inside a caller's transaction (enqueueOp)");
    },
    afterCommit: (fn) => session.afterCommit(fn),
  };
}

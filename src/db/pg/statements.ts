import { awaited, type Op } from "../op.ts";
import type { PgSession } from "./session.ts";

/** A store's statements on PostgreSQL, as Ops, on the session's connection (the batch's transaction when it runs in one). */
export interface PgStatements {
  rows<T>(text: string, params?: unknown[]): Op<T[]>;
  first<T>(text: string, params?: unknown[]): Op<T | undefined>;
  /** How many rows the statement changed. */
  count(text: string, params: unknown[]): Op<number>;
  run(text: string, params: unknown[]): Op<void>;
}

/**
 * The stores' way to run their SQL. Each text is fixed (values only as parameters), so it is
 * prepared: parsed and planned once per connection, not at every call. postgres.js prepares its
 * tagged-template queries by default but not `unsafe` ones; unprepared, the parse and plan of
 * every statement were most of PostgreSQL's CPU under load (acks 2,000 → 3,900/s on one instance).
 */
export function pgStatements(session: PgSession): PgStatements {
  const query = (text: string, params: unknown[]) => session.client.unsafe(text, params as never[], { prepare: true });
  function* rows<T>(text: string, params: unknown[] = []): Op<T[]> {
    return (yield query(text, params)) as unknown as T[];
  }
  return {
    rows,
    *first<T>(text: string, params: unknown[] = []): Op<T | undefined> {
      return (yield* rows<T>(text, params))[0];
    },
    *count(text: string, params: unknown[]): Op<number> {
      return ((yield query(text, params)) as unknown as { count: number }).count;
    },
    *run(text: string, params: unknown[]): Op<void> {
      yield* awaited(query(text, params));
    },
  };
}

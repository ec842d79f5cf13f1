import { runSync, type Op } from "../db/op.ts";

/**
 * Which conversations may have queued (parked) updates: a superset kept in memory, so routing an
 * idle conversation's update skips a query. Only this process parks updates (one database, one
 * instance). A conversation is added when an update is parked and removed when `next` finds none;
 * after a failed commit (which may bring parked rows back) it is loaded again from the table.
 */
export class ParkedHint<Row> {
  private maybe = new Set<string>();

  constructor(
    /** Every conversation with queued updates (the table). */
    private readonly load: () => Op<string[]>,
    /** The conversation's oldest queued update (the table). */
    private readonly oldest: (conversation: string) => Op<Row | undefined>,
  ) {
    this.reload();
  }

  /** The conversation's oldest queued update, asking the table only when there may be one. */
  *next(conversation: string): Op<Row | undefined> {
    if (!this.maybe.has(conversation)) return undefined;
    const row = yield* this.oldest(conversation);
    if (!row) this.maybe.delete(conversation);
    return row;
  }

  /** Loads the set again from the table (SQLite's synchronous store). */
  reload(): void {
    this.maybe = new Set(runSync(this.load()));
  }

  parked(conversation: string): void {
    this.maybe.add(conversation);
  }
}

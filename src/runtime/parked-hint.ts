import { runEither, type Op } from "../db/op.ts";

/**
 * Which conversations may have queued (parked) updates: a superset kept in memory, so routing an
 * idle conversation's update skips a query. Only this process parks the updates of its
 * conversations (one instance, or the chat's lease holder on PostgreSQL). A conversation is added
 * when an update is parked and removed when `next` finds none; after a failed commit (which may
 * bring parked rows back) it is loaded again from the table. While a load is under way
 * (PostgreSQL), every conversation may have some.
 */
export class ParkedHint<Row> {
  /** undefined while loading: ask the table for every conversation. */
  private maybe: Set<string> | undefined;
  /** Parked while the set was loading: added once it has loaded. */
  private parkedMeanwhile = new Set<string>();
  private loads = 0;

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
    if (this.maybe && !this.maybe.has(conversation)) return undefined;
    const row = yield* this.oldest(conversation);
    if (!row) this.maybe?.delete(conversation);
    return row;
  }

  /** Loads the set again from the table: at once on SQLite, in the background on PostgreSQL. */
  reload(): void {
    const load = ++this.loads;
    this.maybe = undefined;
    this.parkedMeanwhile = new Set();
    const loaded = runEither(this.load());
    if (!(loaded instanceof Promise)) return void (this.maybe = new Set(loaded));
    loaded.then(
      (conversations) => {
        if (load === this.loads) this.maybe = new Set([...conversations, ...this.parkedMeanwhile]);
      },
      () => {
        // Left undefined: every conversation asks the table until the next reload succeeds.
      },
    );
  }

  parked(conversation: string): void {
    if (this.maybe) this.maybe.add(conversation);
    else this.parkedMeanwhile.add(conversation);
  }
}

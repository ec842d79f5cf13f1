import { runEither, type Op } from "../db/op.ts";

/**
 * Which conversations may have a row of some kind (a queued update, an active run): a superset
 * kept in memory, so routing an idle conversation's update skips a query. It holds where only
 * this process writes those rows for its conversations (one instance, or the chat's lease holder
 * on PostgreSQL for parked updates). A conversation is added when such a row is written and
 * removed when `find` finds none; after a failed write (which may bring rows back) it is loaded
 * again from the table. While a load is under way (PostgreSQL), every conversation may have one.
 */
export class ConversationHint<Row> {
  /** undefined while loading: ask the table for every conversation. */
  private maybe: Set<string> | undefined;
  /** Added while the set was loading: added once it has loaded. */
  private addedMeanwhile = new Set<string>();
  private loads = 0;

  constructor(
    /** Every conversation with such a row (the table). */
    private readonly load: () => Op<string[]>,
    /** The conversation's row (the table). */
    private readonly lookup: (conversation: string) => Op<Row | undefined>,
  ) {
    this.reload();
  }

  /** The conversation's row, asking the table only when there may be one. */
  *find(conversation: string): Op<Row | undefined> {
    if (this.maybe && !this.maybe.has(conversation)) return undefined;
    const row = yield* this.lookup(conversation);
    if (!row) this.maybe?.delete(conversation);
    return row;
  }

  /** Loads the set again from the table: at once on SQLite, in the background on PostgreSQL. */
  reload(): void {
    const load = ++this.loads;
    this.maybe = undefined;
    this.addedMeanwhile = new Set();
    const loaded = runEither(this.load());
    if (!(loaded instanceof Promise)) return void (this.maybe = new Set(loaded));
    loaded.then(
      (conversations) => {
        if (load === this.loads) this.maybe = new Set([...conversations, ...this.addedMeanwhile]);
      },
      () => {
        // Left undefined: every conversation asks the table until the next reload succeeds.
      },
    );
  }

  /** The conversation has such a row now. */
  add(conversation: string): void {
    if (this.maybe) this.maybe.add(conversation);
    else this.addedMeanwhile.add(conversation);
  }
}

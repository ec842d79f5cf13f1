/**
 * Which conversations may have queued (parked) updates: a superset kept in memory, so routing an
 * idle conversation's update skips a query. Only this process parks updates (one database, one
 * instance). A conversation is added when an update is parked and removed when a query finds none;
 * after a failed commit (which may bring parked rows back) it is loaded again from the table.
 */
export class ParkedHint {
  private maybe = new Set<string>();

  constructor(private readonly load: () => string[]) {
    this.reload();
  }

  reload(): void {
    this.maybe = new Set(this.load());
  }

  parked(conversation: string): void {
    this.maybe.add(conversation);
  }

  mayHave(conversation: string): boolean {
    return this.maybe.has(conversation);
  }

  /** A query found none queued. */
  emptied(conversation: string): void {
    this.maybe.delete(conversation);
  }
}

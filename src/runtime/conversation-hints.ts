import { ConversationHint } from "./conversation-hint.ts";
import type { ParkedRow, RunRow, RunStore } from "./run-store.ts";

/**
 * The runtime's two hints (conversation-hint.ts): which conversations may have queued updates,
 * and which may have an active run. The second only where this process starts every run of its
 * conversations (not on PostgreSQL with several instances: the chat's previous holder started
 * some). `store` is the run store with `activeRun` and `insertRun` going through it.
 */
export class ConversationHints {
  readonly parked: ConversationHint<ParkedRow>;
  private readonly active: ConversationHint<RunRow> | undefined;
  readonly store: RunStore;

  constructor(store: RunStore, shared: boolean) {
    this.parked = new ConversationHint(() => store.parkedConversations(), (conversation) => store.nextParked(conversation));
    const active = shared ? undefined : new ConversationHint(() => store.activeConversations(), (conversation) => store.activeRun(conversation));
    this.active = active;
    this.store = !active
      ? store
      : {
          ...store,
          activeRun: (conversation) => active.find(conversation),
          *insertRun(run, now) {
            active.add(run.conversation);
            return yield* store.insertRun(run, now);
          },
        };
  }

  /** A write failed or was rolled back: what the hints dropped may be back in the tables. */
  reload(): void {
    this.parked.reload();
    this.active?.reload();
  }
}

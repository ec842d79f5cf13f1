import { done, type Op } from "../db/op.ts";

/**
 * Which chats this instance works on, and the check its writes pass. On SQLite one instance has
 * every chat (EVERY_CHAT). On PostgreSQL an instance works on the chats whose lease it holds
 * (LeasedChats, docs/several-instances.md), and every transaction that writes a chat's runs,
 * journal, memories or messages first passes the chat's fence, so an instance that lost a
 * lease (paused, cut off) cannot write after another took the chat over.
 */
export interface ChatScope {
  /**
   * Several instances share the database: an update handed over may have been routed already
   * (another instance's copy of it was, or a stale load), so routing checks it is still received.
   */
  readonly shared: boolean;
  owns(chatId: number | null): boolean;
  /** The chats owned, for queries that must skip the others; undefined: every chat. */
  owned(): readonly number[] | undefined;
  /** Inside a transaction: proceeds only while the chat is this instance's (throws LeaseLostError otherwise). */
  fence(chatId: number | null): Op<void>;
  /** `fence` for several chats at once (on PostgreSQL one statement). */
  fenceAll(chatIds: Iterable<number | null>): Op<void>;
  /**
   * At the top of a transaction whose writes will fence these chats one by one (a routing
   * batch): fences those still this instance's in one statement, for the rest of the
   * transaction, so that their fences inside it need none. A chat found lost is left to throw
   * at its own fence, failing only its own write.
   */
  fenceAhead(chatIds: Iterable<number | null>): Op<void>;
  /**
   * Makes the chat this instance's for a write that does not come through it (an admin cancel
   * or retry): true when it is, taken now if no live lease holds it; false while another
   * instance holds it.
   */
  hold(chatId: number | null): Promise<boolean>;
}

export const EVERY_CHAT: ChatScope = {
  shared: false,
  owns: () => true,
  owned: () => undefined,
  fence: () => done(undefined),
  fenceAll: () => done(undefined),
  fenceAhead: () => done(undefined),
  hold: async () => true,
};

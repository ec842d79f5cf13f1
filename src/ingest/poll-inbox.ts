import { runSync, type Op } from "../db/op.ts";
import type { IncomingUpdate, Inbox, StoreResult } from "./inbox.ts";
import type { PgInbox } from "./pg-inbox.ts";
import { asUpdate } from "./update-shape.ts";

/**
 * What the poller stores a batch through, on either engine: the updates and the writes that must
 * commit with them (the lease's fence, the next offset) in one transaction. A method name of its
 * own, not `storeMany`: SQLite's `storeMany` takes a callback whose result it ignores, so an
 * Inbox passed as is would type-check and never write the offset.
 */
export interface PollInbox {
  storeBatch(batch: IncomingUpdate[], alsoInTransaction: () => Op<void>): StoreResult[] | Promise<StoreResult[]>;
}

/** SQLite: one synchronous transaction, the offset's operation run inside it without yielding. */
export function sqlitePollInbox(inbox: Inbox): PollInbox {
  return { storeBatch: (batch, alsoInTransaction) => inbox.storeMany(batch, () => runSync(alsoInTransaction())) };
}

/** PostgreSQL: one transaction whose statements the operation's queries join. */
export function pgPollInbox(inbox: PgInbox): PollInbox {
  return { storeBatch: (batch, alsoInTransaction) => inbox.storeMany(batch, alsoInTransaction) };
}

export interface PolledBatch {
  /** The valid updates, each with its body as stored. */
  updates: IncomingUpdate[];
  /** The highest integer update_id among all items (invalid ones too: the offset moves past them); -1 without any. */
  lastId: number;
  /** update_ids (or null) of the items skipped as not valid Updates. */
  skipped: (number | null)[];
}

/** Reads a getUpdates answer: the updates to store and how far the offset moves. */
export function readPolledBatch(items: unknown[]): PolledBatch {
  const batch: PolledBatch = { updates: [], lastId: -1, skipped: [] };
  for (const item of items) {
    const id = (item as { update_id?: unknown } | null)?.update_id;
    if (typeof id === "number" && Number.isSafeInteger(id)) batch.lastId = Math.max(batch.lastId, id);
    const update = asUpdate(item);
    if (!update) {
      batch.skipped.push(typeof id === "number" ? id : null);
      continue;
    }
    // GramIO parsed the body; JSON.stringify keeps every field (unknown ones too) in Telegram's order.
    batch.updates.push({ update, raw: JSON.stringify(update) });
  }
  return batch;
}

import type { Op } from "../db/op.ts";
import type { StoredUpdate } from "./inbox.ts";

/**
 * What the inbox asks, inside the webhook's commit, of whoever handles its updates (the runtime,
 * on one SQLite instance: runtime/arrival-routing.ts). An update that gets no more than an
 * instant reply is answered there: stored `done` with its reply in the same commit, never handed
 * to the dispatcher. That spares it the status update, a routing commit and a dispatcher turn.
 */
export interface ArrivalRouter {
  /**
   * Before the batch is inserted (reads only): the updates to answer now, each with the write of
   * its answer, run after the insert if the update was new. `updates` are in update_id order.
   */
  plan(updates: readonly StoredUpdate[]): Op<Map<number, () => Op<void>>>;
  /** The commit that answered these updates is in the database. */
  committed(count: number): void;
}

import { AsyncResource } from "node:async_hooks";

/** The async context of this module's loading: no request's, no transaction's. */
const root = new AsyncResource("timbre-detached");

/**
 * Runs `fn` (and whatever it schedules: timers, immediates) outside the current async context.
 * Work that a transaction's code triggers but that must not run inside that transaction (the
 * outbox's sender ticks, started by a message stored in a routing commit) is scheduled this way,
 * so PgSession's transaction context (AsyncLocalStorage) does not follow it.
 */
export function detached<T>(fn: () => T): T {
  return root.runInAsyncScope(fn);
}

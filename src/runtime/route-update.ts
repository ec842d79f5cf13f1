import type { Op } from "../db/op.ts";
import type { StoredUpdate } from "../ingest/inbox.ts";
import { callbackQueryIdOf, conversationOf, userOf } from "../ingest/update-fields.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import type { ChatScope } from "./chat-scope.ts";
import type { Agent } from "./context.ts";
import { runtimeText } from "./messages.ts";
import { writeRoute, type AfterRoute, type RouteWriteDeps } from "./route-writes.ts";
import { instantReplyOf, routeOf, withActiveRun, type RouteReads } from "./routing.ts";
import type { RunStore } from "./run-store.ts";

export interface RouteUpdateDeps {
  scope: ChatScope;
  store: RunStore;
  reads: RouteReads;
  writes: RouteWriteDeps;
  agent: Agent;
  log: Logger;
  botUsername: (() => string | undefined) | undefined;
  /**
   * Runs a /cancel in the batch being written has ended: later writes of the same batch for these
   * runs are refused (their executions only hear of the cancel after the commit).
   */
  cancelling: Set<number>;
}

/** What routing an update leaves for after its commit. */
export interface Routed {
  after: AfterRoute;
  /** Every button tap is acknowledged, so no button spins in the user's app; `notice` is the text shown with it. */
  callbackQueryId: string | undefined;
  notice: string | undefined;
}

/**
 * Routes one stored update inside its transaction (routing.ts decides, route-writes.ts records);
 * undefined when it was routed already. A /cancel's run goes into `cancelling` and `routed`.
 */
export function* routeUpdate(deps: RouteUpdateDeps, stored: StoredUpdate, routed: { cancelled?: number }): Op<Routed | undefined> {
  yield* deps.scope.fence(stored.chatId);
  const conversation = conversationOf(stored);
  let reads = deps.reads;
  if (deps.scope.shared) {
    // Routed already (here from a stale load, or by the chat's previous holder)? Read with the active run routing asks next.
    const state = yield* deps.store.routingState(stored.updateId, conversation);
    if (!state.received) return undefined;
    reads = withActiveRun(reads, conversation, state.active);
  }
  const instantReply = (text: string) =>
    instantReplyOf(deps.agent, stored, text, (error) =>
      deps.log.error("runtime: the agent's instantReply failed; routing the text as usual", { update_id: stored.updateId, chat_id: stored.chatId, ...errorFields(error) }),
    );
  const route = yield* routeOf(stored, conversation, reads, instantReply, deps.botUsername?.());
  const after = yield* writeRoute(deps.writes, stored, conversation, route);
  if (after.kind === "cancelled") {
    routed.cancelled = after.run.id;
    deps.cancelling.add(after.run.id);
  }
  const notice = route.kind === "refused-tap" ? runtimeText(route.notice, userOf(stored.update)?.language_code) : undefined;
  return { after, callbackQueryId: callbackQueryIdOf(stored.update), notice };
}

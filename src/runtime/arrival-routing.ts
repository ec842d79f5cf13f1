import type { Op } from "../db/op.ts";
import type { ArrivalRouter } from "../ingest/arrival-router.ts";
import type { StoredUpdate } from "../ingest/inbox.ts";
import { conversationOf, needsBotUsername } from "../ingest/update-fields.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Agent } from "./context.ts";
import { instantReplyOf, routeOf, type RouteReads } from "./routing.ts";

export interface ArrivalRoutingDeps {
  reads: RouteReads;
  agent: Agent;
  log: Logger;
  metrics?: Metrics;
  botUsername: (() => string | undefined) | undefined;
  /** False while the chat has updates the dispatcher holds (or the dispatcher does not follow the inbox). */
  isIdleFor: (chatId: number) => boolean;
  /** Stores the reply (the outbox row), inside the commit. */
  storeReply: (stored: StoredUpdate, reply: string) => Op<void>;
}

/**
 * Answers on arrival, inside the webhook's commit, the texts the agent's instantReply answers in a
 * conversation with nothing else going on: routing.ts decides exactly as the dispatcher's routing
 * would (its reads, its busy rule), so the reply is the same; only where it is written changes.
 * A chat whose update the dispatcher holds, or one of whose updates earlier in the batch goes to
 * the dispatcher, is left to it entirely: its updates keep their order.
 */
export function arrivalRouter(deps: ArrivalRoutingDeps): ArrivalRouter {
  const { log } = deps;
  return {
    *plan(updates) {
      const answers = new Map<number, () => Op<void>>();
      const leftToDispatcher = new Set<number | null>();
      try {
        for (const stored of updates) {
          const reply = leftToDispatcher.has(stored.chatId) ? undefined : yield* instantOnArrival(deps, stored);
          if (reply === undefined) leftToDispatcher.add(stored.chatId);
          else answers.set(stored.updateId, () => deps.storeReply(stored, reply));
        }
      } catch (error) {
        // Answering here is only a shortcut: on any surprise the dispatcher routes the batch as usual.
        log.error("runtime: could not answer updates on arrival; routing them as usual", errorFields(error));
        return new Map();
      }
      return answers;
    },
    committed(count) {
      if (count > 0) deps.metrics?.updatesProcessed.inc(undefined, count);
    },
  };
}

/** The instant reply `stored` gets now, or undefined when the dispatcher must route it. */
function* instantOnArrival(deps: ArrivalRoutingDeps, stored: StoredUpdate): Op<string | undefined> {
  if (stored.chatId === null || !deps.isIdleFor(stored.chatId)) return undefined;
  const botUsername = deps.botUsername?.();
  // A command to some bot waits (in the dispatcher) until timbre knows its own name.
  if (botUsername === undefined && needsBotUsername(stored.update)) return undefined;
  if (!deps.agent.instantReply) return undefined;
  // One that fails is left to the dispatcher, whose routing calls it again and reports the failure.
  const instantReply = (text: string) => instantReplyOf(deps.agent, stored, text, () => {});
  const route = yield* routeOf(stored, conversationOf(stored), deps.reads, instantReply, botUsername);
  return route.kind === "instant" ? route.reply : undefined;
}

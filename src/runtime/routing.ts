import { done, type Op } from "../db/op.ts";
import type { StoredUpdate } from "../ingest/inbox.ts";
import { isCancel, noRunReasonOf, textOf, userOf } from "../ingest/update-fields.ts";
import { choiceTapOf, type ChoiceTap } from "./choices.ts";
import type { Agent } from "./context.ts";
import type { RuntimeText } from "./messages.ts";
import type { ConversationHint } from "./conversation-hint.ts";
import type { ParkedRow, RunRow, RunStore, StepRow } from "./run-store.ts";

/** What one stored update does to its conversation. */
export type Route =
  /** Nothing for the agent: marked done without a run or a reply. */
  | { kind: "ignore"; reason: string }
  /** /cancel: ends the active run, if any, and says so. */
  | { kind: "cancel"; run: RunRow | undefined }
  /** The agent's instantReply answers at once, without a run. */
  | { kind: "instant"; reply: string }
  /** The text answers the active run's pending question. */
  | { kind: "answer"; run: RunRow; step: StepRow; text: string }
  /** The asking user tapped a button of the question the run waits on: the choice is the answer. */
  | { kind: "choice"; run: RunRow; step: StepRow; choice: string; tap: ChoiceTap }
  /** A tap on a question's button that changes nothing: someone else's question, or one no longer open. */
  | { kind: "refused-tap"; notice: Extract<RuntimeText, "questionClosed" | "notYourQuestion">; tap: ChoiceTap }
  /** The conversation is busy: the update waits for the next run. */
  | { kind: "park" }
  /** The update starts a run. */
  | { kind: "start" };

/** What routing reads (inside the routing transaction). */
export interface RouteReads {
  activeRun(conversation: string): Op<RunRow | undefined>;
  pendingQuestion(runId: number): Op<StepRow | undefined>;
  hasParked(conversation: string): Op<boolean>;
  runById(runId: number): Op<RunRow | undefined>;
  stepAt(runId: number, seq: number): Op<StepRow | undefined>;
}

/** `reads` with the conversation's active run read already (on PostgreSQL, with the update's status). */
export function withActiveRun(reads: RouteReads, conversation: string, active: RunRow | undefined): RouteReads {
  return { ...reads, activeRun: (asked) => (asked === conversation ? done(active) : reads.activeRun(asked)) };
}

/** RouteReads from the run store; the parked hint spares a query for a conversation with nothing queued. */
export function storeRouteReads(store: RunStore, parkedHint: ConversationHint<ParkedRow>): RouteReads {
  return {
    activeRun: (conversation) => store.activeRun(conversation),
    pendingQuestion: (runId) => store.pendingQuestion(runId),
    *hasParked(conversation) {
      return (yield* parkedHint.find(conversation)) !== undefined;
    },
    runById: (runId) => store.runById(runId),
    stepAt: (runId, seq) => store.stepAt(runId, seq),
  };
}

/** What a tap on one of timbre's question buttons does. */
function* tapRoute(tap: ChoiceTap, conversation: string, reads: RouteReads): Op<Route> {
  const run = yield* reads.runById(tap.runId);
  const step = run ? yield* reads.stepAt(run.id, tap.seq) : undefined;
  if (!run || step?.kind !== "ask") return { kind: "refused-tap", notice: "questionClosed", tap };
  if (run.conversation !== conversation) return { kind: "refused-tap", notice: "notYourQuestion", tap };
  const choice = (JSON.parse(step.choices ?? "[]") as string[])[tap.index];
  if (step.state !== "waiting" || run.status !== "waiting" || choice === undefined) return { kind: "refused-tap", notice: "questionClosed", tap };
  return { kind: "choice", run, step, choice, tap };
}

/**
 * The agent's instant reply for a text: undefined when it has none, or when it threw or returned
 * something other than a non-empty string or undefined (null, a promise: it must be synchronous),
 * each reported through `onError`; the text is then routed as usual.
 */
export function instantReplyOf(agent: Agent, stored: StoredUpdate, text: string, onError: (error: unknown) => void): string | undefined {
  if (!agent.instantReply) return undefined;
  let reply: unknown;
  try {
    reply = agent.instantReply(text, userOf(stored.update));
  } catch (error) {
    onError(error);
    return undefined;
  }
  if (reply === undefined || (typeof reply === "string" && reply.trim() !== "")) return reply;
  // An async instantReply's promise: whatever it settles with is not used, and must not go unhandled.
  if (reply instanceof Promise) reply.catch(() => {});
  const what = reply instanceof Promise ? "a promise (it must be synchronous)" : typeof reply === "string" ? "an empty text" : reply === null ? "null" : `a ${typeof reply}`;
  onError(new TypeError(`instantReply returned ${what}; expected a text or undefined`));
  return undefined;
}

/**
 * Decides what `stored` does. Only text messages start or answer runs; every other update
 * starts a run without text (ctx.update) or waits its turn. Instant replies answer where a text
 * would start a run or answer a question; while the conversation is busy (a run working or
 * sleeping) they wait their turn, so its messages stay in order.
 */
export function* routeOf(
  stored: StoredUpdate,
  conversation: string,
  reads: RouteReads,
  instantReply: (text: string) => string | undefined,
  botUsername: string | undefined,
): Op<Route> {
  // No chat to answer in, a command for another bot, an automatic forward: nothing for the agent.
  const noRun = noRunReasonOf(stored, botUsername);
  if (noRun !== undefined) return { kind: "ignore", reason: noRun };
  const tap = choiceTapOf(stored.update);
  if (tap) return yield* tapRoute(tap, conversation, reads);
  const text = textOf(stored.update);
  const active = yield* reads.activeRun(conversation);
  if (text !== undefined && isCancel(text)) return { kind: "cancel", run: active };

  // Asked at most once per update: nothing between here and its last use changes the queue.
  let parked: boolean | undefined;
  // What a waiting run waits on: a question (the text answers it) or a sleep (the text waits for the
  // run's end). An update older than the run (a failed one retried) answers nothing: it waits its
  // turn. Older by both its id and when it was stored: after a week without updates Telegram
  // picks the next update_id at random, so a lower id alone may be a fresh answer.
  const older = active !== undefined && stored.updateId < active.triggerUpdateId && stored.receivedAt !== undefined && stored.receivedAt < active.createdAt;
  const pending = active?.status === "waiting" && text !== undefined && !older ? yield* reads.pendingQuestion(active.id) : undefined;
  if (text !== undefined) {
    const busy = active ? pending === undefined : (parked ??= yield* reads.hasParked(conversation));
    const reply = busy ? undefined : instantReply(text);
    if (reply !== undefined) return { kind: "instant", reply };
  }
  if (active && pending && text !== undefined) return { kind: "answer", run: active, step: pending, text };
  if (active || (parked ??= yield* reads.hasParked(conversation))) return { kind: "park" };
  return { kind: "start" };
}

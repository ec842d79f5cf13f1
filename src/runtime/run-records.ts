import type { RunInbox, RunOutbox } from "./runtime-parts.ts";
import type { Clock } from "../clock.ts";
import type { Op } from "../db/op.ts";
import type { StoredUpdate } from "../ingest/inbox.ts";
import { replyTargetOf, textOf, userOf } from "../ingest/update-fields.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Agent, TelegramUpdate } from "./context.ts";
import { runtimeText, type RuntimeText } from "./messages.ts";
import type { ParkedRow, RunRow, RunStore, StepRow } from "./run-store.ts";
import { instantReplyOf } from "./routing.ts";

/** A run just recorded, with what its first execution needs. */
export interface StartedRun {
  run: RunRow;
  update: TelegramUpdate;
}

export interface RecordsDeps {
  store: RunStore;
  inbox: RunInbox;
  outbox: RunOutbox;
  agent: Agent;
  clock: Clock;
  log: Logger;
  metrics?: Metrics;
  settings: { agentName: string; agentVersion: string };
  /** The conversation's oldest queued update. */
  nextParked(conversation: string): Op<ParkedRow | undefined>;
}

/**
 * The writes that start and end runs, inside the caller's transaction: a new run, a run's end,
 * the runtime's own messages, instant replies, and taking a conversation's next queued update.
 */
export class RunRecords {
  constructor(private readonly deps: RecordsDeps) {}

  /** Records a new run for `stored`; the caller executes it after the commit. */
  *create(stored: StoredUpdate, conversation: string): Op<RunRow> {
    const { inbox, store, clock, settings } = this.deps;
    yield* inbox.writeStatus(stored.updateId, "processing");
    return yield* store.insertRun(
      {
        conversation,
        chatId: stored.chatId ?? 0,
        userId: stored.userId,
        agent: settings.agentName,
        agentVersion: settings.agentVersion,
        triggerUpdateId: stored.updateId,
        trigger: JSON.stringify(stored.update),
      },
      clock.now(),
    );
  }

  /** Records a run's end; a run cancelled or failed (a replay mismatch) leaves no question waiting, no step retrying. */
  *end(run: RunRow, status: "done" | "failed" | "cancelled", error: string | null): Op<boolean> {
    const { store, inbox, clock } = this.deps;
    // Ended already (an admin cancel and the run's own end, each in its own transaction): the first end stands.
    if (!(yield* store.endRun(run.id, status, error, clock.now()))) return false;
    // A run that returned may still have one: a sleep or question it never awaited.
    yield* store.cancelWaitingSteps(run.id);
    yield* inbox.writeStatus(run.triggerUpdateId, status === "failed" ? "failed" : "done", error);
    return true;
  }

  /** One of the runtime's own messages, in the user's language, where the update came from. Never to a chat the update does not name. */
  *say(stored: Pick<StoredUpdate, "updateId" | "chatId" | "update">, key: RuntimeText, runId?: number): Op<void> {
    if (stored.chatId === null) return;
    yield* this.deps.outbox.enqueueOp({
      chatId: stored.chatId,
      text: runtimeText(key, userOf(stored.update)?.language_code),
      options: replyTargetOf(stored.update),
      updateId: stored.updateId,
      ...(runId !== undefined ? { runId } : {}),
    });
  }

  /** Sends the agent's instant reply to `stored` and marks it done. */
  *instantReply(stored: StoredUpdate, reply: string): Op<void> {
    yield* this.storeInstantReply(stored, reply);
    yield* this.deps.inbox.writeStatus(stored.updateId, "done");
  }

  /** The reply alone, for an update stored `done` with it (ArrivalRouter). */
  *storeInstantReply(stored: StoredUpdate, reply: string): Op<void> {
    if (stored.chatId !== null) yield* this.deps.outbox.enqueueOp({ chatId: stored.chatId, text: reply, options: replyTargetOf(stored.update), updateId: stored.updateId });
  }

  /**
   * Takes the conversation's queued updates, oldest first, until one starts a run (instant
   * replies are sent on the way). Returns the in-memory work for after the commit, which gives
   * the run to execute, if one started.
   */
  *startNextInTransaction(conversation: string, stopping: boolean): Op<() => StartedRun | undefined> {
    const { store, inbox, metrics, log, agent } = this.deps;
    let processed = 0;
    let failed = 0;
    let started: StartedRun | undefined;
    while (!stopping) {
      const next = yield* this.deps.nextParked(conversation);
      if (!next || (yield* store.activeRun(conversation))) break;
      yield* store.unpark(next.updateId);
      const stored = yield* inbox.read(next.updateId);
      if (!stored) {
        log.error("runtime: a queued update has no stored payload; skipping it", { update_id: next.updateId, conversation });
        yield* inbox.writeStatus(next.updateId, "failed", "payload missing");
        failed++;
        continue;
      }
      const text = textOf(stored.update);
      const reply =
        text === undefined
          ? undefined
          : instantReplyOf(agent, stored, text, (error) => log.error("runtime: the agent's instantReply failed; routing the text as usual", { update_id: stored.updateId, ...errorFields(error) }));
      if (reply !== undefined) {
        yield* this.instantReply(stored, reply);
        processed++;
        continue;
      }
      started = { run: yield* this.create(stored, conversation), update: stored.update };
      break;
    }
    return () => {
      for (let i = 0; i < failed; i++) metrics?.updatesFailed.inc();
      for (let i = 0; i < processed; i++) metrics?.updatesProcessed.inc();
      return started;
    };
  }
}

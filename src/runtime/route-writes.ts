import type { RunInbox, RunOutbox } from "./runtime-parts.ts";
import type { Clock } from "../clock.ts";
import type { Op } from "../db/op.ts";
import type { StoredUpdate } from "../ingest/inbox.ts";
import { businessConnectionOf } from "../ingest/update-fields.ts";
import type { Logger } from "../observability/log.ts";
import { chosenKeyboard } from "./choices.ts";
import type { ConversationHint } from "./conversation-hint.ts";
import type { RunRecords, StartedRun } from "./run-records.ts";
import type { RunRow, RunStore, StepRow } from "./run-store.ts";
import type { Route } from "./routing.ts";

export interface RouteWriteDeps {
  store: RunStore;
  records: RunRecords;
  inbox: RunInbox;
  outbox: RunOutbox;
  clock: Clock;
  log: Logger;
  parkedHint: ConversationHint<unknown>;
}

/** What a route leaves to do once its writes are committed. */
export type AfterRoute =
  | { kind: "nothing"; processed: boolean }
  /** The update is done and a run is due to execute: a new one (`fresh`), or one an answer woke. */
  | { kind: "execute"; runId: number; fresh?: StartedRun; processed: boolean }
  /** A /cancel ended this run. */
  | { kind: "cancelled"; run: RunRow };

/** The answer settles the question; the run is due to execute again. */
function* answer(deps: RouteWriteDeps, stored: StoredUpdate, run: RunRow, step: StepRow, text: string): Op<void> {
  const now = deps.clock.now();
  yield* deps.store.settleStep(run.id, step.seq, "answered", now, { text, updateId: stored.updateId });
  yield* deps.store.setRunStatus(run.id, "running", now);
  yield* deps.inbox.writeStatus(stored.updateId, "done");
}

/** Records what the route does (inside the routing transaction). */
export function* writeRoute(deps: RouteWriteDeps, stored: StoredUpdate, conversation: string, route: Route): Op<AfterRoute> {
  const { inbox, records, store } = deps;
  switch (route.kind) {
    case "ignore":
      yield* inbox.writeStatus(stored.updateId, "done");
      deps.log.debug("runtime: the update starts nothing", { update_id: stored.updateId, chat_id: stored.chatId, kind: stored.kind, reason: route.reason });
      return { kind: "nothing", processed: true };
    case "cancel":
      if (route.run) yield* records.end(route.run, "cancelled", null);
      yield* inbox.writeStatus(stored.updateId, "done");
      yield* records.say(stored, route.run ? "cancelled" : "nothingToCancel", route.run?.id);
      return route.run ? { kind: "cancelled", run: route.run } : { kind: "nothing", processed: true };
    case "instant":
      yield* records.instantReply(stored, route.reply);
      return { kind: "nothing", processed: true };
    case "answer":
      yield* answer(deps, stored, route.run, route.step, route.text);
      return { kind: "execute", runId: route.run.id, processed: true };
    case "choice": {
      yield* answer(deps, stored, route.run, route.step, route.choice);
      const { runId, seq, index, messageId } = route.tap;
      if (messageId !== undefined) {
        const business = businessConnectionOf(stored.update);
        yield* deps.outbox.enqueueOp({
          method: "editMessageReplyMarkup",
          chatId: route.run.chatId,
          messageId,
          replyMarkup: chosenKeyboard(runId, seq, index, route.choice),
          ...(business !== undefined ? { options: { business_connection_id: business } } : {}),
          runId,
          updateId: stored.updateId,
        });
      }
      return { kind: "execute", runId: route.run.id, processed: true };
    }
    case "refused-tap":
      yield* inbox.writeStatus(stored.updateId, "done");
      return { kind: "nothing", processed: true };
    case "park":
      yield* store.park(stored.updateId, conversation, deps.clock.now());
      deps.parkedHint.add(conversation);
      yield* inbox.writeStatus(stored.updateId, "processing");
      return { kind: "nothing", processed: false };
    case "start": {
      const run = yield* records.create(stored, conversation);
      return { kind: "execute", runId: run.id, fresh: { run, update: stored.update }, processed: false };
    }
  }
}

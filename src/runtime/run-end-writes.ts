import type { Op } from "../db/op.ts";
import type { RunStore, RunRow, DueStep } from "./run-store.ts";
import type { ChatScope } from "./chat-scope.ts";
import type { TelegramUpdate } from "./context.ts";
import type { RuntimeText } from "./messages.ts";
import type { RunRecords, StartedRun } from "./run-records.ts";
import { thrownMessage } from "../observability/log.ts";

/**
 * The transactions that end runs and start what follows, each first passing the chat's fence
 * (ChatScope): written once, run on either engine.
 */
export interface EndWriteDeps {
  records: RunRecords;
  store: RunStore;
  scope: ChatScope;
}

/** A cancel from the admin API: the end, its pending question cancelled, the notice to the user; false (nothing written) when the run had ended already. */
export function* cancelWrites({ records, scope }: EndWriteDeps, run: RunRow, update: TelegramUpdate): Op<boolean> {
  yield* scope.fence(run.chatId);
  if (!(yield* records.end(run, "cancelled", null))) return false;
  yield* records.say({ updateId: run.triggerUpdateId, chatId: run.chatId, update }, "cancelled", run.id);
  return true;
}

/** A failed run: its end with the error, and the notice saying so; false (nothing written) when the run had ended already (cancelled meanwhile). */
export function* failedWrites({ records, scope }: EndWriteDeps, run: RunRow, update: TelegramUpdate, error: unknown, tell: RuntimeText): Op<boolean> {
  yield* scope.fence(run.chatId);
  if (!(yield* records.end(run, "failed", error instanceof Error ? `${error.name}: ${error.message}` : thrownMessage(error)))) return false;
  yield* records.say({ updateId: run.triggerUpdateId, chatId: run.chatId, update }, tell, run.id);
  return true;
}

/** A run done, and its conversation's next queued update started, in one commit; nothing when it was cancelled meanwhile. */
export function* doneWrites({ records, scope }: EndWriteDeps, run: RunRow, aborted: () => boolean, stopping: () => boolean): Op<(() => StartedRun | undefined) | undefined> {
  // Cancelled or stopping while the write waited for its batch: the run is not done.
  if (aborted()) return undefined;
  yield* scope.fence(run.chatId);
  if (!(yield* records.end(run, "done", null))) return undefined;
  return yield* records.startNextInTransaction(run.conversation, stopping());
}

/** The conversation's next queued update, if it is idle. */
export function* startNextWrites({ records, scope }: EndWriteDeps, conversation: string, chatId: number | null, stopping: boolean): Op<() => StartedRun | undefined> {
  yield* scope.fence(chatId);
  return yield* records.startNextInTransaction(conversation, stopping);
}

/**
 * Question timeouts, sleeps and step backoffs due at `now`: settled, their runs running again;
 * returns those settled here. A retrying step stays retrying: its run's next execution makes the
 * next attempt.
 */
export function* settleDueWrites({ store, scope }: EndWriteDeps, due: DueStep[], now: number): Op<DueStep[]> {
  const settled: DueStep[] = [];
  for (const step of due) {
    yield* scope.fence(step.chatId);
    if (step.kind === "step") {
      if (!(yield* store.wakeRun(step.runId, now))) continue;
    } else {
      if (!(yield* store.settleStep(step.runId, step.seq, step.kind === "ask" ? "timed_out" : "done", now))) continue;
      // An ended run stays ended: a sleep or question it never awaited, left waiting by a timbre
      // from before run ends cancelled them, is settled and nothing runs.
      if (!(yield* store.runAgain(step.runId, now))) continue;
    }
    settled.push(step);
  }
  return settled;
}

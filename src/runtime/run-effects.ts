import type { RunOutbox } from "./runtime-parts.ts";
import type { SharedCommits } from "../db/batched-transactions.ts";
import type { Op } from "../db/op.ts";
import { answerPromptOf, replyTargetOf } from "../ingest/update-fields.ts";
import type { Clock } from "../clock.ts";
import type { RunEffects } from "./agent-context.ts";
import type { ReplyOptions, TelegramUpdate } from "./context.ts";
import { choicesKeyboard } from "./choices.ts";
import type { RunRow, RunStore } from "./run-store.ts";
import type { StepOutcome } from "./step-runner.ts";
import { runCancelled } from "./run-cancelled.ts";

export interface EffectDeps {
  batched: SharedCommits;
  store: RunStore;
  outbox: RunOutbox;
  clock: Clock;
  /** A question's timeout or a sleep's end was committed. */
  deadlineAdded(at: number): void;
  /** A run went back to waiting with deadlines already in its journal: read them anew (one may be due). */
  deadlinesChanged(): void;
  /** The chat's fence (ChatScope): its writes proceed only while the chat is this instance's. */
  fence(chatId: number): Op<void>;
}

/**
 * The journal writes of one run's ctx calls, each with its effect in the same shared commit
 * (see BatchedTransactions): a reply's outbox row, a question's row and the run's waiting status.
 * Each first checks `cancelled()`, which also knows of a /cancel routed earlier in the same batch
 * (committed with it, before this execution hears of it).
 */
export function runEffects(deps: EffectDeps, run: RunRow, update: TelegramUpdate, cancelled: () => boolean): RunEffects {
  const { batched, store, outbox, clock, fence } = deps;
  const target = replyTargetOf(update);
  const answerPrompt = answerPromptOf(update);
  // A question answered by typing, in a group: asked as a reply to the run's message, unless the agent says where it goes.
  const typedQuestion = (options: ReplyOptions) =>
    answerPrompt && !("reply_markup" in options || "reply_parameters" in options || "reply_to_message_id" in options) ? { ...options, ...answerPrompt } : options;
  const write = <T>(fn: (now: number) => Op<T>): Promise<T> =>
    batched.run(function* () {
      if (cancelled()) throw runCancelled();
      yield* fence(run.chatId);
      return yield* fn(clock.now());
    }, run.chatId);
  const send = (text: string, options: ReplyOptions) => outbox.enqueueOp({ chatId: run.chatId, text, options: { ...target, ...options }, runId: run.id, updateId: run.triggerUpdateId });

  return {
    reply: (seq, text, options) =>
      write(function* (now) {
        yield* store.insertStep({ runId: run.id, seq, kind: "reply", text, state: "done" }, now);
        yield* send(text, options);
      }),

    ask: async (seq, question, { timeoutMs, choices, options }) => {
      const deadlineAt = await write(function* (now) {
        const deadlineAt = now + timeoutMs;
        yield* store.insertStep({ runId: run.id, seq, kind: "ask", text: question, state: "waiting", deadlineAt, choices: choices ? JSON.stringify(choices) : null, finishedAt: null }, now);
        yield* store.setRunStatus(run.id, "waiting", now);
        yield* send(question, choices ? { ...options, reply_markup: choicesKeyboard(run.id, seq, choices) } : typedQuestion(options));
        return deadlineAt;
      });
      deps.deadlineAdded(deadlineAt);
    },

    step: (seq, name, outcome: StepOutcome) =>
      write((now) =>
        store.recordStep(
          {
            runId: run.id,
            seq,
            kind: "step",
            text: name,
            state: outcome.ok ? "done" : "failed",
            result: outcome.ok ? outcome.json : null,
            error: outcome.ok ? null : outcome.message,
            attempts: outcome.attempts,
            startedAt: outcome.startedAt,
          },
          now,
        ),
      ),

    // The run waits out the backoff holding no slot, as a sleeping one does, woken at `retryAt`.
    stepRetrying: async (seq, name, { attempts, retryAt, message, startedAt }) => {
      await write(function* (now) {
        yield* store.recordStep({ runId: run.id, seq, kind: "step", text: name, state: "retrying", deadlineAt: retryAt, error: message, attempts, startedAt, finishedAt: null }, now);
        yield* store.setRunStatus(run.id, "waiting", now);
      });
      // Not only retryAt: another step of the run may have come due while this one was trying.
      deps.deadlinesChanged();
    },

    waitAgain: async () => {
      await write((now) => store.setRunStatus(run.id, "waiting", now));
      deps.deadlinesChanged();
    },

    sleep: async (seq, ms) => {
      const deadlineAt = await write(function* (now) {
        const deadlineAt = now + ms;
        yield* store.insertStep({ runId: run.id, seq, kind: "sleep", text: "sleep", state: "waiting", deadlineAt, finishedAt: null }, now);
        yield* store.setRunStatus(run.id, "waiting", now);
        return deadlineAt;
      });
      deps.deadlineAdded(deadlineAt);
    },

    remember: (seq, json) =>
      write(function* (now) {
        // The first remember of a run keeps what the run started with, so its replays still see that.
        const before = yield* store.memory(run.conversation);
        yield* store.keepMemoryBefore(run.id, before === undefined ? "{}" : `{"value":${before}}`);
        yield* store.insertStep({ runId: run.id, seq, kind: "remember", text: "remember", state: "done", result: json }, now);
        yield* store.setMemory(run.conversation, json, now);
      }),
  };
}

/** ctx.memory for an execution of `run`: what it started with. */
export function* memoryAtStart(store: RunStore, run: RunRow): Op<unknown> {
  if (run.memoryBefore !== null) {
    const kept = JSON.parse(run.memoryBefore) as { value?: unknown };
    return kept.value;
  }
  const current = yield* store.memory(run.conversation);
  return current === undefined ? undefined : JSON.parse(current);
}

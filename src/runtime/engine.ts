import type { ReplayMismatchError } from "./context.ts";
import { JournalCursor, type EntryKind, type JournalEntry } from "./journal.ts";
import { runCancelled } from "./run-cancelled.ts";

/** How one execution of an agent function ended. */
export type ExecutionOutcome =
  | { kind: "returned" }
  | { kind: "threw"; error: unknown }
  /** It waits on an answer or a timer; the function was left pending and is never resumed. */
  | { kind: "suspended" }
  /** The agent made a different call than the journal has: its code changed under the run. */
  | { kind: "mismatch"; error: ReplayMismatchError }
  /** Check mode: it replayed its whole journal and would go on from there. */
  | { kind: "caught-up" }
  /**
   * One of timbre's own calls for it (a journal write, the memory's read) failed, whatever the
   * agent made of that (rethrown, caught, another error): `error` is that failure.
   */
  | { kind: "own-failure"; error: unknown };

/**
 * "live" executes for real; "check" replays the journal and stops where the journal ends,
 * so nothing new is ever done (timbre replay-check).
 */
export type ExecutionMode = "live" | "check";

/**
 * A promise that never settles, fresh each time: a shared one would keep every suspended
 * function alive through its list of reactions.
 */
const never = () => new Promise<never>(() => {});

/**
 * One execution of an agent function against a run's journal: the replay core. It knows nothing
 * of Telegram or the database; ctx is built on its two primitives. `position(kind, key)` takes
 * the call's place in the journal (what was recorded there, or nothing when the call is new);
 * `suspend()` ends the execution while the run waits. A suspended or mismatched function is
 * left on a promise that never settles: nothing references it, so it is garbage-collected, and
 * the agent cannot catch its way past it. The next execution replays from the start.
 */
export class Execution {
  private readonly cursor: JournalCursor;
  private ended: ExecutionOutcome | undefined;
  private endNow!: (outcome: ExecutionOutcome) => void;
  private readonly endedEarly = new Promise<ExecutionOutcome>((resolve) => (this.endNow = resolve));
  /** Effects started by this execution (a step's function and its commit): a suspension waits for them. */
  private readonly effects = new Set<Promise<unknown>>();
  private cancelled = false;
  private finished = false;
  /** The first of timbre's own calls for this execution that failed (ownFailure). */
  private failedUnderneath: { error: unknown } | undefined;

  constructor(
    journal: readonly JournalEntry[],
    readonly mode: ExecutionMode = "live",
  ) {
    this.cursor = new JournalCursor(journal);
  }

  /**
   * Takes the next position for a ctx call. Resolves with the recorded entry, or undefined when
   * the call is new (the caller then does it and records it). Never settles once the execution
   * has ended (mismatch, suspension, caught up in check mode).
   */
  position(kind: EntryKind, key: string): Promise<{ seq: number; recorded: JournalEntry | undefined }> {
    if (this.ended) return never();
    if (this.cancelled) return Promise.reject(runCancelled());
    if (this.finished) return Promise.reject(new Error("the run has ended: ctx calls only work while the agent function runs (await each one)"));
    let taken: { seq: number; recorded: JournalEntry | undefined };
    try {
      taken = this.cursor.next(kind, key);
    } catch (error) {
      this.end({ kind: "mismatch", error: error as ReplayMismatchError });
      return never();
    }
    // A check ends where the journal does. A step recorded between attempts ends it too, in
    // ctx.step, as an unanswered question does: after the calls beside it (one Promise.all)
    // have taken their positions, so a mismatch among them is still found.
    if (!taken.recorded && this.mode === "check") {
      this.end({ kind: "caught-up" });
      return never();
    }
    return Promise.resolve(taken);
  }

  /** Ends the execution: the run waits (on an answer or a timer) and a later execution replays it. */
  suspend(): Promise<never> {
    this.end({ kind: "suspended" });
    return never();
  }

  /** Tracks an effect in flight, so a suspension in the meantime still waits for its commit. */
  effect<T>(promise: Promise<T>): Promise<T> {
    this.effects.add(promise);
    const forget = () => this.effects.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  /**
   * Timbre's own work for the execution failed (a journal write, a read): the outcome is this
   * failure, not what the agent throws next, which may be anything (its own error, or nothing).
   */
  ownFailure(error: unknown): void {
    this.failedUnderneath ??= { error };
  }

  /** Later ctx calls throw RunCancelledError (the run was cancelled). */
  cancel(): void {
    this.cancelled = true;
  }

  get isCancelled(): boolean {
    return this.cancelled;
  }

  /** Runs `fn` until it returns, throws, or the execution ends early. */
  async run(fn: () => Promise<void> | void): Promise<ExecutionOutcome> {
    // An agent module may export a plain function: one that throws, or returns no promise, ends as an async one would.
    let started: Promise<void>;
    try {
      started = Promise.resolve(fn());
    } catch (error) {
      started = Promise.reject(error);
    }
    const returned = started.then(
      (): ExecutionOutcome => ({ kind: "returned" }),
      (error: unknown): ExecutionOutcome => ({ kind: "threw", error }),
    );
    let outcome = await Promise.race([returned, this.endedEarly]);
    this.finished = true;
    // An execution that ended while recorded entries remained unreached made different calls.
    if ((outcome.kind === "returned" || outcome.kind === "threw") && this.cursor.remaining > 0 && !this.cancelled) {
      outcome = { kind: "mismatch", error: this.cursor.unreached() };
    }
    if (this.effects.size > 0) await Promise.allSettled([...this.effects]);
    // What failed underneath comes first: what the agent did next may only be its consequence.
    if ((outcome.kind === "returned" || outcome.kind === "threw") && this.failedUnderneath) outcome = { kind: "own-failure", error: this.failedUnderneath.error };
    return outcome;
  }

  private end(outcome: ExecutionOutcome): void {
    if (this.ended) return;
    this.ended = outcome;
    this.endNow(outcome);
  }
}

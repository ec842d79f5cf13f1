import type { RunOutbox } from "./runtime-parts.ts";
import type { Clock } from "../clock.ts";
import type { SharedCommits } from "../db/batched-transactions.ts";
import { runAsync, runSync, type Op } from "../db/op.ts";
import { chatActionTargetOf, textOf, userOf } from "../ingest/update-fields.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import { agentContext } from "./agent-context.ts";
import type { Agent, TelegramUpdate } from "./context.ts";
import { Execution, type ExecutionOutcome } from "./engine.ts";
import type { JournalEntry } from "./journal.ts";
import { memoryAtStart, runEffects } from "./run-effects.ts";
import type { StartedRun } from "./run-records.ts";
import { RunSlots, type HeldSlot } from "./run-slots.ts";
import type { RunRow, RunStore } from "./run-store.ts";
import { runCancelled } from "./run-cancelled.ts";

export interface ExecutorDeps {
  store: RunStore;
  batched: SharedCommits;
  outbox: RunOutbox;
  agent: Agent;
  clock: Clock;
  log: Logger;
  maxConcurrency: number;
  askTimeoutMs: number;
  typing: { afterMs: number; everyMs: number };
  /** A question's timeout or a sleep's end was committed. */
  deadlineAdded(at: number): void;
  /** A run went back to waiting on deadlines already journaled (see EffectDeps). */
  deadlinesChanged(): void;
  fence(chatId: number): Op<void>;
  /** The run is being cancelled in the batch now being written (its execution hears of it after the commit). */
  isEnding(runId: number): boolean;
  /** Records how an execution ended (the runtime's part); `aborted` tells whether the run was cancelled meanwhile. */
  finish(run: RunRow, update: TelegramUpdate, outcome: ExecutionOutcome, aborted: () => boolean): Promise<void>;
}

/** A run executing in this process. A waiting or sleeping run has none: it is only its journal. */
interface LiveRun {
  execution: Execution;
  abort: AbortController;
  slot: HeldSlot | undefined;
  /** Woken while executing (an answer came during a suspension): execute again at once. */
  again: boolean;
  /** Its chat, once its row is read. */
  chatId?: number;
}

/**
 * Executes runs on the replay core, at most MAX_CONCURRENCY at once, one execution per run: a
 * run woken while it executes goes on once more when this execution suspends.
 */
export class RunExecutor {
  private readonly live = new Map<number, LiveRun>();
  private readonly executions = new Set<Promise<void>>();
  private readonly slots: RunSlots;
  private stopping = false;
  /** Aborts at stop: a step between attempts makes no new one (ContextParts.stopping). */
  private readonly stopped = new AbortController();

  constructor(private readonly deps: ExecutorDeps) {
    this.slots = new RunSlots(deps.maxConcurrency, deps.clock, deps.typing);
  }

  /**
   * Executes a run (again) from its journal, unless it already executes here. `fresh`: a run just
   * recorded, whose row and trigger are at hand and whose journal is empty. Resolves when done.
   */
  execute(runId: number, fresh?: StartedRun): Promise<void> {
    if (this.stopping) return Promise.resolve();
    const existing = this.live.get(runId);
    if (existing) {
      existing.again = true;
      return Promise.resolve();
    }
    const live: LiveRun = { execution: new Execution([]), abort: new AbortController(), slot: undefined, again: false };
    this.live.set(runId, live);
    const execution = this.executeWhileWoken(runId, live, fresh)
      .catch((error: unknown) => this.deps.log.error("runtime: a run's execution failed unexpectedly; it replays on the next start", { run_id: runId, ...errorFields(error) }))
      .finally(() => {
        live.slot?.release();
        this.live.delete(runId);
        this.executions.delete(execution);
      });
    this.executions.add(execution);
    return execution;
  }

  /** The run was cancelled: its execution's signal aborts, its later ctx calls throw, its slot goes to others. */
  cancel(runId: number): void {
    const live = this.live.get(runId);
    if (!live) return;
    live.abort.abort(runCancelled());
    live.execution.cancel();
    // A cancelled agent that ignores its signal must not keep a slot from other chats.
    live.slot?.release();
  }

  /** Another instance took the chat over: its executions here stop, as cancelled ones do, and write nothing more. */
  cancelChat(chatId: number): void {
    for (const [runId, live] of this.live) if (live.chatId === chatId) this.cancel(runId);
  }

  /** True while a run of the chat executes here, or one whose row is not read yet (its chat unknown) does. */
  mayExecuteIn(chatId: number): boolean {
    for (const live of this.live.values()) if (live.chatId === chatId || live.chatId === undefined) return true;
    return false;
  }

  isExecuting(runId: number): boolean {
    return this.live.has(runId);
  }

  /** Executions in this process (tests and shutdown). */
  get executing(): number {
    return this.executions.size;
  }

  /** Slots held by executions. */
  get busy(): number {
    return this.slots.inUse;
  }

  /** Starts no execution; those in flight stop at their next ctx call's commit at the latest. */
  stop(): void {
    this.stopping = true;
    this.stopped.abort();
  }

  private async executeWhileWoken(runId: number, live: LiveRun, fresh: StartedRun | undefined): Promise<void> {
    let first = fresh;
    let typingTo: { chatId: number; target: Record<string, unknown> } | undefined;
    do {
      live.again = false;
      live.slot ??= await this.slots.acquire(() => typingTo && void this.deps.outbox.typing(typingTo.chatId, typingTo.target));
      // Read with the slot held: cancelled (or stopping) while it waited, the agent never starts.
      if (live.abort.signal.aborted || this.stopping) return;
      const run = first?.run ?? (await runAsync(this.deps.store.runById(runId)));
      if (!run || run.status !== "running") return;
      live.chatId = run.chatId;
      const update = first?.update ?? (JSON.parse(run.trigger) as TelegramUpdate);
      const journal: JournalEntry[] = first ? [] : await runAsync(this.deps.store.journal(run.id));
      first = undefined;
      const target = chatActionTargetOf(update);
      typingTo = target && { chatId: run.chatId, target };
      live.execution = new Execution(journal);
      const outcome = await this.executeOnce(run, update, live);
      await this.deps.finish(run, update, outcome, () => live.abort.signal.aborted || this.stopping || this.deps.isEnding(run.id));
    } while (live.again && !this.stopping && !live.abort.signal.aborted);
  }

  private executeOnce(run: RunRow, update: TelegramUpdate, live: LiveRun): Promise<ExecutionOutcome> {
    const { store, batched, outbox, clock, agent } = this.deps;
    const aborted = () => live.abort.signal.aborted || this.deps.isEnding(run.id);
    const effects = runEffects({ batched, store, outbox, clock, deadlineAdded: (at) => this.deps.deadlineAdded(at), deadlinesChanged: () => this.deps.deadlinesChanged(), fence: (chatId) => this.deps.fence(chatId) }, run, update, aborted);
    const ctx = agentContext({
      run,
      update,
      text: textOf(update),
      user: userOf(update),
      memory: memoOf(() => runSync(memoryAtStart(store, run))),
      signal: live.abort.signal,
      stopping: this.stopped.signal,
      execution: live.execution,
      effects,
      clock,
      askTimeoutMs: this.deps.askTimeoutMs,
    });
    return live.execution.run(() => agent(ctx));
  }
}

/** `read` once, when first asked for. */
function memoOf<T>(read: () => T): () => T {
  let memo: { value: T } | undefined;
  return () => (memo ??= { value: read() }).value;
}

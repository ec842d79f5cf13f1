import { and, asc, desc, eq, inArray, lt } from "drizzle-orm";
import type { Clock } from "../clock.ts";
import { BatchedTransactions } from "../db/batched-transactions.ts";
import { relaxedTransaction, type Db } from "../db/index.ts";
import { countByStatus } from "../db/count-by-status.ts";
import { isTransientStorageError } from "../db/storage-error.ts";
import { parkedUpdates, runs, runSteps, type RunStatus } from "../db/schema.ts";
import type { Inbox, StoredUpdate } from "../ingest/inbox.ts";
import type { TelegramUpdate } from "../ingest/update-shape.ts";
import { callbackQueryIdOf, chatActionTargetOf, conversationOf, isCancel, noRunReasonOf, replyTargetOf, textOf, userOf } from "../ingest/update-fields.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Outbox } from "../telegram/outbox.ts";
import {
  AskTimeoutError,
  ReplayMismatchError,
  RunCancelledError,
  type Agent,
  type AgentContext,
  type AskOptions,
  type ReplyOptions,
} from "./context.ts";
import { runtimeText, type RuntimeText } from "./messages.ts";
import { ACTIVE, prepareRunQueries, type RunQueries, type RunRow, type StepRow } from "./run-queries.ts";
import { Semaphore } from "./semaphore.ts";

/** How long a run the database failed under waits before it is replayed. */
const STORAGE_REPLAY_MS = 1_000;

export type { RunRow, StepRow };

export interface RuntimeSettings {
  agentName: string;
  maxConcurrency: number;
  askTimeoutSeconds: number;
  /** "typing" shows after a run has worked this long, and is refreshed at this interval. */
  typingAfterMs?: number;
  typingEveryMs?: number;
  /** The bot's username (getMe), undefined until known: commands addressed to other bots start nothing. */
  botUsername?: () => string | undefined;
}

/** A run executing in this process: what replay and wake-ups need. */
interface LiveRun {
  run: RunRow;
  update: TelegramUpdate;
  /** The journal as it was when this execution started; steps past it are new. */
  journal: StepRow[];
  seq: number;
  abort: AbortController;
  cancelled: boolean;
  /** The agent function has returned or thrown: later ctx calls are refused. */
  ended: boolean;
  holdsSlot: boolean;
  waiter?: { seq: number; resolve: (answer: string) => void; reject: (error: Error) => void; timer: { cancel(): void } };
  typing?: { cancel(): void };
  /** Called when the run first waits on a question (or ends): a replay has caught up. */
  settle: () => void;
}

/**
 * The agent runtime: routes each update of a conversation (answer, queue, start, cancel),
 * executes runs with a journal so they replay after a restart, and ends them. Owns the
 * runs, run_steps and parked_updates tables.
 */
export class Runtime {
  private readonly live = new Map<number, LiveRun>();
  private readonly slots: Semaphore;
  private readonly askTimeoutMs: number;
  private readonly typingAfterMs: number;
  private readonly typingEveryMs: number;
  private stopping = false;
  private readonly executions = new Set<Promise<void>>();
  private readonly q: RunQueries;
  /** Commits shared by the writes of many runs and chats in one turn (routing, replies, questions, ends). */
  readonly batched: BatchedTransactions;

  constructor(
    private readonly db: Db,
    private readonly inbox: Inbox,
    private readonly outbox: Outbox,
    private readonly agent: Agent,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly settings: RuntimeSettings,
    private readonly metrics?: Metrics,
  ) {
    this.q = prepareRunQueries(db);
    this.batched = new BatchedTransactions(db.$client);
    this.slots = new Semaphore(settings.maxConcurrency);
    this.askTimeoutMs = settings.askTimeoutSeconds * 1000;
    this.typingAfterMs = settings.typingAfterMs ?? 1000;
    this.typingEveryMs = settings.typingEveryMs ?? 4000;
  }

  /** Resumes what a previous process left: active runs are replayed, idle conversations start their queued update. */
  start(): void {
    const startedAt = Date.now();
    const active = this.db.select().from(runs).where(inArray(runs.status, ACTIVE)).orderBy(asc(runs.id)).all();
    const resumed = active.map((run) => this.execute(run).settled);
    if (active.length > 0) {
      this.log.info("runtime: resuming runs from their journal", { count: active.length });
      // One line when every replayed run is back where it was (waiting again, or ended): the
      // time a restart costs, as operators and the benchmark see it.
      void Promise.all(resumed).then(() => {
        if (!this.stopping) this.log.info("runtime: resumed runs are live again", { count: active.length, resume_ms: Date.now() - startedAt });
      });
    }
    const parked = this.db.selectDistinct({ conversation: parkedUpdates.conversation }).from(parkedUpdates).all();
    for (const { conversation } of parked) this.startNext(conversation);
  }

  /**
   * Handles one stored update of a conversation; the dispatcher hands over one update per chat at
   * a time, so per-chat order holds. Its reads and writes are one transaction, shared with the
   * other writes of the same turn (see BatchedTransactions); one whose routing throws is rolled
   * back alone. What must follow the commit (starting or waking a run) runs after it.
   */
  async route(stored: StoredUpdate): Promise<void> {
    const afterCommit = await this.batched.run(() => this.routeInTransaction(stored));
    afterCommit();
    // Every tap is acknowledged once routed, so no button spins in the user's app.
    const callbackQueryId = callbackQueryIdOf(stored.update);
    if (callbackQueryId !== undefined) void this.outbox.answerCallbackQuery(callbackQueryId);
  }

  /** Records what `stored` does to its conversation; returns the in-memory work for after the commit. */
  private routeInTransaction(stored: StoredUpdate): () => void {
    const noRun = noRunReasonOf(stored, this.settings.botUsername?.());
    if (noRun !== undefined) {
      this.inbox.setStatus(stored.updateId, "done");
      this.log.debug("runtime: the update starts nothing", { update_id: stored.updateId, chat_id: stored.chatId, kind: stored.kind, reason: noRun });
      return () => this.metrics?.updatesProcessed.inc();
    }
    const conversation = conversationOf(stored);
    const text = textOf(stored.update);
    const active = this.activeRun(conversation);
    const language = userOf(stored.update)?.language_code;

    if (text !== undefined && isCancel(text)) {
      if (active) this.endRun(active, "cancelled", null);
      this.inbox.setStatus(stored.updateId, "done");
      this.say(stored, active ? "cancelled" : "nothingToCancel", language, active?.id);
      return () => {
        this.metrics?.updatesProcessed.inc();
        if (active) this.afterEnd(active, "cancelled");
      };
    }

    // Asked at most once per update: nothing between here and its last use changes the queue.
    let parked: boolean | undefined;
    const hasParked = () => (parked ??= this.hasParked(conversation));
    // Instant replies answer where a text would start a run or answer a question; while the
    // conversation is busy they wait their turn, so its messages stay in order.
    if (text !== undefined && this.agent.instantReply) {
      const busy = active ? active.status === "running" : hasParked();
      if (!busy && this.recordInstantReply(stored, text)) return () => this.metrics?.updatesProcessed.inc();
    }

    if (active?.status === "waiting" && text !== undefined) {
      const step = this.pendingStep(active.id);
      if (step) {
        const now = this.clock.now();
        this.q.settleStep(active.id, step.seq, "answered", now, { text, updateId: stored.updateId });
        this.q.setRunStatus(active.id, "running", now);
        this.inbox.setStatus(stored.updateId, "done");
        return () => {
          this.metrics?.updatesProcessed.inc();
          this.wake(active.id, step.seq, text);
        };
      }
    }

    if (active || hasParked()) {
      this.q.park(stored.updateId, conversation, this.clock.now());
      this.inbox.setStatus(stored.updateId, "processing");
      return () => {};
    }
    const run = this.createRun(stored, conversation);
    return () => this.executeNew(run, stored.update);
  }

  /** Records the agent's instant reply for `text` (inside the caller's transaction), if it has one; true when it did. */
  private recordInstantReply(stored: StoredUpdate, text: string): boolean {
    const user = userOf(stored.update);
    let reply: string | undefined;
    try {
      reply = this.agent.instantReply?.(text, user);
    } catch (error) {
      this.log.error("runtime: the agent's instantReply threw; routing the text as usual", { update_id: stored.updateId, chat_id: stored.chatId, ...errorFields(error) });
      return false;
    }
    if (reply === undefined) return false;
    if (stored.chatId !== null) this.outbox.enqueue({ chatId: stored.chatId, text: reply, options: replyTargetOf(stored.update), updateId: stored.updateId });
    this.inbox.setStatus(stored.updateId, "done");
    return true;
  }

  /** Cancels a run (admin API); false when it is not active. */
  cancel(runId: number): boolean {
    const run = this.q.runById(runId);
    if (!run || !ACTIVE.includes(run.status)) return false;
    const update = JSON.parse(run.trigger) as TelegramUpdate;
    this.transaction(() => {
      this.endRun(run, "cancelled", null);
      this.outbox.enqueue({ chatId: run.chatId, text: runtimeText("cancelled", userOf(update)?.language_code), runId: run.id, options: replyTargetOf(update) });
    });
    this.afterEnd(run, "cancelled");
    return true;
  }

  /** Records a new run for `stored` (inside the caller's transaction); the caller executes it after the commit. */
  private createRun(stored: StoredUpdate, conversation: string): RunRow {
    const now = this.clock.now();
    this.inbox.setStatus(stored.updateId, "processing");
    return this.q.insertRun(
      { conversation, chatId: stored.chatId ?? 0, userId: stored.userId, agent: this.settings.agentName, triggerUpdateId: stored.updateId, trigger: JSON.stringify(stored.update) },
      now,
    );
  }

  /**
   * Starts the conversation's next queued update, if it is idle. Taking it off the queue and
   * recording its run (or its instant reply) is one transaction, so a crash loses neither.
   */
  private startNext(conversation: string): void {
    this.transaction(() => this.startNextInTransaction(conversation), { immediate: true })();
  }

  /** startNext's reads and writes, inside the caller's transaction; returns the in-memory work for after the commit. */
  private startNextInTransaction(conversation: string): () => void {
    let processed = 0;
    let failed = 0;
    let start: (() => void) | undefined;
    while (!this.stopping && !this.activeRun(conversation)) {
      const next = this.q.nextParked(conversation);
      if (!next) break;
      this.q.unpark(next.updateId);
      const stored = this.inbox.get(next.updateId);
      if (!stored) {
        this.log.error("runtime: a queued update has no stored payload; skipping it", { update_id: next.updateId, conversation });
        this.inbox.setStatus(next.updateId, "failed", "payload missing");
        failed++;
        continue;
      }
      const text = textOf(stored.update);
      if (text !== undefined && this.recordInstantReply(stored, text)) {
        processed++;
        continue;
      }
      const run = this.createRun(stored, conversation);
      start = () => this.executeNew(run, stored.update);
      break;
    }
    return () => {
      for (let i = 0; i < failed; i++) this.metrics?.updatesFailed.inc();
      for (let i = 0; i < processed; i++) this.metrics?.updatesProcessed.inc();
      start?.();
    };
  }

  /** Executes a run createRun has just recorded: its trigger is `update` and its journal is empty. */
  private executeNew(run: RunRow, update: TelegramUpdate): { settled: Promise<void> } {
    return this.execute(run, update, []);
  }

  /** Runs (or replays) a run; `settled` resolves once it waits on a question or has ended. */
  private execute(run: RunRow, update: TelegramUpdate = JSON.parse(run.trigger) as TelegramUpdate, journal: StepRow[] = this.q.journal(run.id)): { settled: Promise<void> } {
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const live: LiveRun = { run, update, journal, seq: 0, abort: new AbortController(), cancelled: false, ended: false, holdsSlot: false, settle };
    this.live.set(run.id, live);
    const execution = this.runAgent(live).finally(() => {
      settle();
      this.live.delete(run.id);
      this.executions.delete(execution);
    });
    this.executions.add(execution);
    return { settled };
  }

  private async runAgent(live: LiveRun): Promise<void> {
    await this.acquire(live);
    const { run } = live;
    const ids = { run_id: run.id, chat_id: run.chatId, update_id: run.triggerUpdateId };
    try {
      // Cancelled while it waited for a slot: the agent never starts.
      if (live.cancelled || this.stopping) return;
      try {
        await this.agent(this.contextFor(live));
      } finally {
        live.ended = true;
      }
      if (live.cancelled || this.stopping) return;
      // The end and the start of the conversation's next queued update are one commit.
      const startNext = await this.batched.run(() => {
        // Cancelled or stopping while the write waited for its batch: the run is not done.
        if (this.stopping || !this.stillActive(live)) return undefined;
        this.endRun(run, "done", null);
        return this.startNextInTransaction(run.conversation);
      });
      if (!startNext) return;
      this.metrics?.updatesProcessed.inc();
      this.afterEnd(run, "done", startNext);
    } catch (error) {
      if (live.cancelled || this.stopping) return;
      if (isTransientStorageError(error)) {
        // The database failed under the run (disk full, read-only), not the agent: the failed
        // step committed nothing, so the run is replayed from its journal once writes work again.
        this.log.warn("runtime: the database failed under a run; replaying it shortly", { ...ids, retry_in_ms: STORAGE_REPLAY_MS, ...errorFields(error) });
        this.replayLater(run.id);
        return;
      }
      const timedOut = error instanceof AskTimeoutError;
      this.log.error(timedOut ? "run failed: a question timed out" : "run failed: the agent threw", { ...ids, ...errorFields(error) });
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      try {
        this.transaction(() => {
          this.endRun(run, "failed", message);
          this.say({ updateId: run.triggerUpdateId, chatId: run.chatId, update: live.update }, timedOut ? "timedOut" : "failed", userOf(live.update)?.language_code, run.id);
        });
      } catch (recordError) {
        // The run stays active in the database; left alone it would block its conversation until a restart.
        this.log.error("runtime: could not record a failed run; replaying it shortly", { ...ids, retry_in_ms: STORAGE_REPLAY_MS, ...errorFields(recordError) });
        this.replayLater(run.id);
        return;
      }
      this.metrics?.updatesFailed.inc();
      try {
        this.afterEnd(run, "failed");
      } catch (afterError) {
        // Starting the conversation's next update failed; left alone it would wait for a restart.
        if (!isTransientStorageError(afterError)) throw afterError;
        this.log.warn("runtime: the database failed starting a conversation's next update; trying again shortly", { ...ids, ...errorFields(afterError) });
        this.replayLater(run.id);
      }
    } finally {
      this.releaseSlot(live);
    }
  }

  /**
   * After a storage failure: executes the run again from its journal while it is still active,
   * or, when it had ended and starting its conversation's next update is what failed, starts that.
   */
  private replayLater(runId: number): void {
    this.clock.setTimeout(() => {
      if (this.stopping || this.live.has(runId)) return;
      try {
        const run = this.get(runId);
        if (run && ACTIVE.includes(run.status)) this.execute(run);
        else if (run) this.startNext(run.conversation);
      } catch (error) {
        if (!isTransientStorageError(error)) {
          this.log.error("runtime: could not resume a run after a storage failure", { run_id: runId, ...errorFields(error) });
          return;
        }
        this.replayLater(runId);
      }
    }, STORAGE_REPLAY_MS);
  }

  private contextFor(live: LiveRun): AgentContext {
    const { run, update } = live;
    return {
      runId: run.id,
      text: textOf(update),
      chatId: run.chatId,
      user: userOf(update),
      update,
      signal: live.abort.signal,
      reply: (text: string, options?: ReplyOptions) => this.reply(live, text, options),
      ask: (question: string, options?: AskOptions) => this.ask(live, question, options),
      // The journaled step, sleep and memory primitives arrive with the layered replay core.
      memory: undefined,
      step: () => Promise.reject(new Error("ctx.step is not available in this build yet")),
      sleep: () => Promise.reject(new Error("ctx.sleep is not available in this build yet")),
      remember: () => Promise.reject(new Error("ctx.remember is not available in this build yet")),
    };
  }

  private nextStep(live: LiveRun, kind: "reply" | "ask", text: string): StepRow | undefined {
    if (live.cancelled) throw new RunCancelledError();
    if (live.ended) throw new Error(`run ${live.run.id} has ended: ctx.reply and ctx.ask only work while the agent function runs`);
    const seq = live.seq++;
    const recorded = live.journal[seq];
    if (recorded && recorded.kind !== kind) {
      throw new ReplayMismatchError(`step ${seq} was a ${recorded.kind} ("${recorded.text.slice(0, 60)}") but the agent now made a ${kind} ("${text.slice(0, 60)}"); agents must make the same calls in the same order`);
    }
    return recorded;
  }

  private async reply(live: LiveRun, text: string, options: ReplyOptions = {}): Promise<void> {
    if (this.nextStep(live, "reply", text)) return; // already sent before a restart
    const { run } = live;
    const seq = live.seq - 1;
    await this.batched.run(() => {
      // Cancelled while the write waited for its batch: nothing more may go out for this run.
      if (!this.stillActive(live)) throw new RunCancelledError();
      this.q.insertStep({ runId: run.id, seq, kind: "reply", text, state: "done" }, this.clock.now());
      this.outbox.enqueue({ chatId: run.chatId, text, options: { ...replyTargetOf(live.update), ...options }, runId: run.id, updateId: run.triggerUpdateId });
    });
  }

  private async ask(live: LiveRun, question: string, options: AskOptions = {}): Promise<string> {
    const recorded = this.nextStep(live, "ask", question);
    const { run } = live;
    const seq = live.seq - 1;
    if (!recorded) {
      const { timeoutSeconds, ...sendOptions } = options;
      const now = this.clock.now();
      const deadlineAt = now + (timeoutSeconds !== undefined ? timeoutSeconds * 1000 : this.askTimeoutMs);
      await this.batched.run(() => {
        if (!this.stillActive(live)) throw new RunCancelledError();
        this.q.insertStep({ runId: run.id, seq, kind: "ask", text: question, state: "waiting", deadlineAt }, now);
        this.q.setRunStatus(run.id, "waiting", now);
        this.outbox.enqueue({ chatId: run.chatId, text: question, options: { ...replyTargetOf(live.update), ...sendOptions }, runId: run.id, updateId: run.triggerUpdateId });
      });
    }
    return this.awaitAnswer(live, seq, question);
  }

  /** Resolves with the answer: at once when the journal has it, else when route() records it. */
  private async awaitAnswer(live: LiveRun, seq: number, question: string): Promise<string> {
    // Read the step now, in the same synchronous turn as registering the waiter, so an
    // answer recorded meanwhile (also during a replay) cannot be missed.
    const step = this.q.stepAt(live.run.id, seq);
    if (!step) throw new ReplayMismatchError(`step ${seq} vanished from the journal`);
    if (step.state === "answered") return step.answer ?? "";
    if (step.state === "timed_out") throw new AskTimeoutError(question);
    if (step.state === "cancelled" || live.cancelled) throw new RunCancelledError();

    this.releaseSlot(live);
    live.settle();
    const answer = await new Promise<string>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => this.timeOut(live, seq, question), (step.deadlineAt ?? Infinity) - this.clock.now());
      live.waiter = { seq, resolve, reject, timer };
    });
    await this.acquire(live);
    return answer;
  }

  private timeOut(live: LiveRun, seq: number, question: string): void {
    const waiter = live.waiter;
    if (!waiter || waiter.seq !== seq) return;
    const now = this.clock.now();
    const step = this.q.stepAt(live.run.id, seq);
    if (step?.state !== "waiting") return;
    if ((step.deadlineAt ?? 0) > now) {
      // A clamped long timer fired early; wait for the rest.
      waiter.timer = this.clock.setTimeout(() => this.timeOut(live, seq, question), step.deadlineAt! - now);
      return;
    }
    this.transaction(() => {
      this.q.settleStep(live.run.id, seq, "timed_out", now);
      this.q.setRunStatus(live.run.id, "running", now);
    });
    live.waiter = undefined;
    void this.acquire(live).then(() => waiter.reject(new AskTimeoutError(question)));
  }

  private wake(runId: number, seq: number, answer: string): void {
    const live = this.live.get(runId);
    if (!live?.waiter || live.waiter.seq !== seq) return; // a replay in progress reads the answer from the journal
    const { resolve, timer } = live.waiter;
    timer.cancel();
    live.waiter = undefined;
    resolve(answer);
  }

  private async acquire(live: LiveRun): Promise<void> {
    await this.slots.acquire();
    live.holdsSlot = true;
    live.typing?.cancel();
    let cancelled = false;
    let handle: { cancel(): void } | undefined;
    const tick = () => {
      if (cancelled) return;
      void this.outbox.typing(live.run.chatId, chatActionTargetOf(live.update));
      handle = this.clock.setTimeout(tick, this.typingEveryMs);
    };
    handle = this.clock.setTimeout(tick, this.typingAfterMs);
    live.typing = {
      cancel: () => {
        cancelled = true;
        handle?.cancel();
      },
    };
  }

  private releaseSlot(live: LiveRun): void {
    live.typing?.cancel();
    live.typing = undefined;
    if (!live.holdsSlot) return;
    live.holdsSlot = false;
    this.slots.release();
  }

  /**
   * Inside a batched write: whether the run may still write. A /cancel routed earlier in the same
   * batch has ended it in the database, but its in-memory `cancelled` flag is only set after the
   * commit, so the database is asked.
   */
  private stillActive(live: LiveRun): boolean {
    if (live.cancelled) return false;
    const status = this.q.runById(live.run.id)?.status;
    return status !== undefined && ACTIVE.includes(status);
  }

  /** Records a run's end (inside the caller's transaction). */
  private endRun(run: RunRow, status: "done" | "failed" | "cancelled", error: string | null): void {
    const now = this.clock.now();
    this.q.endRun(run.id, status, error, now);
    if (status === "cancelled") this.q.cancelWaitingSteps(run.id);
    this.inbox.setStatus(run.triggerUpdateId, status === "failed" ? "failed" : "done", error);
  }

  /** After the end is committed: stop the live execution and start the conversation's next update. */
  private afterEnd(run: RunRow, status: RunStatus, startNext?: () => void): void {
    // A cancelled run's trigger update is done too (done and failed runs count where they end).
    if (status === "cancelled") this.metrics?.updatesProcessed.inc();
    const live = this.live.get(run.id);
    if (live && status === "cancelled") {
      live.cancelled = true;
      live.abort.abort(new RunCancelledError());
      live.waiter?.timer.cancel();
      live.waiter?.reject(new RunCancelledError());
      live.waiter = undefined;
      this.releaseSlot(live);
    }
    // `startNext`: the next update was already recorded in the end's own transaction.
    if (startNext) startNext();
    else this.startNext(run.conversation);
  }

  private say(stored: Pick<StoredUpdate, "updateId" | "chatId" | "update">, key: RuntimeText, language: string | undefined, runId?: number): void {
    if (stored.chatId === null) return;
    this.outbox.enqueue({ chatId: stored.chatId, text: runtimeText(key, language), options: replyTargetOf(stored.update), updateId: stored.updateId, ...(runId !== undefined ? { runId } : {}) });
  }

  private activeRun(conversation: string): RunRow | undefined {
    return this.q.activeRun(conversation);
  }

  private pendingStep(runId: number): StepRow | undefined {
    return this.q.pendingStep(runId);
  }

  private hasParked(conversation: string): boolean {
    return this.q.nextParked(conversation) !== undefined;
  }

  /**
   * Relaxed commits: run state is redone from the journal after a loss, and the outbox's FULL
   * "sending" commit puts the journal on disk before any message it led to goes out.
   */
  private transaction<T>(fn: () => T, options?: { immediate?: boolean }): T {
    return relaxedTransaction(this.db.$client, fn, options);
  }

  /** Stops starting runs; runs in flight are left at their last journaled step and replay on the next start. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopping = true;
    for (const live of this.live.values()) {
      live.waiter?.timer.cancel();
      live.typing?.cancel();
    }
    // Waiting runs never finish on their own; only wait for those actually executing.
    const deadline = Date.now() + timeoutMs;
    while (this.slots.inUse > 0 && Date.now() < deadline) await Bun.sleep(10);
  }

  counts(): Record<RunStatus, number> {
    return countByStatus(this.db, runs, runs.status, { running: 0, waiting: 0, done: 0, failed: 0, cancelled: 0 });
  }

  /** Runs newest first, with the pending question of waiting runs. */
  list(filter: { status?: RunStatus; limit: number; beforeId?: number }): (RunRow & { pendingQuestion: StepRow | null })[] {
    const conditions = [filter.status ? eq(runs.status, filter.status) : undefined, filter.beforeId !== undefined ? lt(runs.id, filter.beforeId) : undefined].filter(
      (c) => c !== undefined,
    );
    const rows = this.db.select().from(runs).where(conditions.length ? and(...conditions) : undefined).orderBy(desc(runs.id)).limit(filter.limit).all();
    return rows.map((run) => ({ ...run, pendingQuestion: run.status === "waiting" ? (this.pendingStep(run.id) ?? null) : null }));
  }

  get(runId: number): RunRow | undefined {
    return this.q.runById(runId);
  }

  /** Deletes ended runs and their journals older than `olderThanMs`. */
  prune(olderThanMs = 7 * 24 * 3_600_000): number {
    const cutoff = this.clock.now() - olderThanMs;
    return this.transaction(() => {
      const old = this.db
        .select({ id: runs.id })
        .from(runs)
        .where(and(inArray(runs.status, ["done", "failed", "cancelled"]), lt(runs.endedAt, cutoff)))
        .all()
        .map((r) => r.id);
      for (let i = 0; i < old.length; i += 500) {
        const chunk = old.slice(i, i + 500);
        this.db.delete(runSteps).where(inArray(runSteps.runId, chunk)).run();
        this.db.delete(runs).where(inArray(runs.id, chunk)).run();
      }
      return old.length;
    });
  }

  /** Live executions (tests and shutdown). */
  get executing(): number {
    return this.executions.size;
  }
}

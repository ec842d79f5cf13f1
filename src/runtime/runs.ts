import type { SharedCommits } from "../db/batched-transactions.ts";
import { runAsync, runEither, type Op } from "../db/op.ts";
import { isTransientStorageError } from "../db/storage-error.ts";
import type { RunStatus } from "../db/schema.ts";
import type { StoredUpdate } from "../ingest/inbox.ts";
import { errorFields } from "../observability/log.ts";
import type { TelegramUpdate } from "./context.ts";
import { runEndingOf } from "./run-ending.ts";
import type { ExecutionOutcome } from "./engine.ts";
import { RunRecords, type StartedRun } from "./run-records.ts";
import { RunExecutor } from "./executor.ts";
import { ACTIVE, type RunRow, type RunStore, type StepRow } from "./run-store.ts";
import type { AnyRunReads, SqliteRunReads } from "./run-reads.ts";
import type { RuntimeDeps } from "./runtime-parts.ts";
import { RuntimeReads } from "./runtime-reads.ts";
import { EVERY_CHAT, type ChatScope } from "./chat-scope.ts";
import { cancelWrites, doneWrites, failedWrites, settleDueWrites, startNextWrites, type EndWriteDeps } from "./run-end-writes.ts";
import { ConversationHints } from "./conversation-hints.ts";
import { routeUpdate, type Routed, type RouteUpdateDeps } from "./route-update.ts";
import { storeRouteReads } from "./routing.ts";
import { arrivalRouter } from "./arrival-routing.ts";
import type { ArrivalRouter } from "../ingest/arrival-router.ts";
import { DeadlineTimers } from "./timers.ts";

/** How long a run the database failed under waits before it is replayed. */
const STORAGE_REPLAY_MS = 1_000;

export type { RunRow, StepRow };

/** `elsewhere`: another instance holds the run's chat right now (PostgreSQL); nothing was written. */
export type CancelOutcome = { kind: "cancelled"; run: RunRow } | { kind: "not_found" } | { kind: "not_active"; status: RunStatus } | { kind: "elsewhere" };

/**
 * The agent runtime: routes each update of a conversation (routing.ts), executes runs on the
 * replay core (engine.ts, agent-context.ts) so that they replay from their journal, and ends
 * them. A run that waits on an answer or a timer holds no execution: the answer (routing) or
 * the timer (timers.ts) executes it again from its journal. Owns the runs, run_steps, memories
 * and parked_updates tables (run-store.ts); the admin's reads of them are RuntimeReads'.
 */
export class Runtime<Reads extends AnyRunReads = SqliteRunReads> extends RuntimeReads<Reads> {
  private readonly store: RunStore;
  private readonly records: RunRecords;
  private readonly executor: RunExecutor;
  private readonly timers: DeadlineTimers;
  private readonly hints: ConversationHints;
  private readonly routing: RouteUpdateDeps;
  private stopping = false;
  private readonly scope: ChatScope;
  private readonly endWrites: EndWriteDeps;
  /** Runs a /cancel in the batch being written has ended (RouteUpdateDeps.cancelling). */
  private readonly cancelling = new Set<number>();
  /** Commits shared by the writes of many runs and chats in one turn (routing, journal writes, ends). */
  readonly batched: SharedCommits;

  constructor(private readonly deps: RuntimeDeps<Reads>) {
    super(deps.storage.reads, deps.clock);
    const { storage, clock, settings } = deps;
    this.scope = deps.scope ?? EVERY_CHAT;
    this.hints = new ConversationHints(storage.store, this.scope.shared);
    this.store = this.hints.store;
    this.batched = storage.sharedCommits(() => this.hints.reload(), this.scope);
    this.records = new RunRecords({ ...deps, store: this.store, nextParked: (conversation) => this.hints.parked.find(conversation) });
    this.routing = {
      scope: this.scope,
      store: this.store,
      reads: storeRouteReads(this.store, this.hints.parked),
      writes: { ...deps, store: this.store, records: this.records, parkedHint: this.hints.parked },
      agent: deps.agent,
      log: deps.log,
      botUsername: settings.botUsername,
      cancelling: this.cancelling,
    };
    this.endWrites = { records: this.records, store: this.store, scope: this.scope };
    this.executor = new RunExecutor({
      ...deps,
      store: this.store,
      batched: this.batched,
      maxConcurrency: settings.maxConcurrency,
      askTimeoutMs: settings.askTimeoutSeconds * 1000,
      typing: { afterMs: settings.typingAfterMs ?? 1000, everyMs: settings.typingEveryMs ?? 4000 },
      deadlineAdded: (at) => this.timers.added(at),
      deadlinesChanged: () => this.timers.rearm(),
      fence: (chatId) => this.scope.fence(chatId),
      isEnding: (runId) => this.cancelling.has(runId),
      finish: (run, update, outcome, aborted) => this.finish(run, update, outcome, aborted),
    });
    this.timers = new DeadlineTimers(clock, () => runEither(this.store.nextDeadline(this.scope.owned())), (now) => this.wakeDue(now), (error) =>
      deps.log[isTransientStorageError(error) ? "warn" : "error"]("runtime: could not wake due questions and sleeps; trying again shortly", errorFields(error)),
    );
  }

  /** Resumes what a previous process left: running runs are replayed, deadlines re-armed, idle conversations start their queued update. */
  async start(): Promise<void> {
    const startedAt = Date.now();
    const running = await runAsync(this.store.runsWithStatus("running"));
    const resumed = running.map((run) => this.executor.execute(run.id));
    if (running.length > 0) {
      this.deps.log.info("runtime: resuming runs from their journal", { count: running.length });
      void Promise.all(resumed).then(() => {
        if (!this.stopping) this.deps.log.info("runtime: resumed runs are live again", { count: running.length, resume_ms: Date.now() - startedAt });
      });
    }
    this.timers.rearm();
    for (const conversation of await runAsync(this.store.parkedConversations())) await this.startNext(conversation, null);
  }

  /**
   * A chat this instance took over (PostgreSQL): its runs left running replay from their journal,
   * its idle conversations start their queued updates, its deadlines are armed.
   */
  async adopt(chatId: number): Promise<void> {
    const runs = await runAsync(this.store.activeRunsOfChat(chatId));
    for (const run of runs) if (run.status === "running") void this.executor.execute(run.id);
    for (const conversation of await runAsync(this.store.parkedConversationsOfChat(chatId))) await this.startNext(conversation, chatId);
    this.timers.rearm();
  }

  /**
   * Answers, inside the webhook's commit, the updates that get no more than an instant reply
   * (arrival-routing.ts); only on one instance (with several, a chat's routing is fenced).
   */
  arrivalRouter(isIdleFor: (chatId: number) => boolean): ArrivalRouter | undefined {
    if (this.scope.shared) return undefined;
    const { reads, agent, log, botUsername } = this.routing;
    return arrivalRouter({ reads, agent, log, botUsername, isIdleFor, storeReply: (stored, reply) => this.records.storeInstantReply(stored, reply), ...(this.deps.metrics ? { metrics: this.deps.metrics } : {}) });
  }

  /** True while a run of the chat executes here (or is about to: it has no row read yet). */
  hasWork(chatId: number): boolean {
    return this.executor.mayExecuteIn(chatId);
  }

  /** A chat another instance took over: its executions here stop and write nothing more. */
  drop(chatId: number): void {
    this.executor.cancelChat(chatId);
  }

  /**
   * Handles one stored update of a conversation; the dispatcher hands over one update per chat at
   * a time, so per-chat order holds. Its reads and writes are one transaction, shared with the
   * other writes of the same turn; what must follow the commit (executing a run) runs after it.
   */
  async route(stored: StoredUpdate): Promise<void> {
    const routed: { cancelled?: number } = {};
    try {
      const done = await this.batched.run(() => routeUpdate(this.routing, stored, routed), stored.chatId);
      if (done) this.afterRoute(done, stored);
    } finally {
      // Committed (the execution is aborted by now) or rolled back (the run goes on): either way done.
      if (routed.cancelled !== undefined) this.cancelling.delete(routed.cancelled);
    }
  }

  /** What follows a routed update's commit: the run it started or woke executes, a cancelled run ends. */
  private afterRoute({ after, callbackQueryId, notice }: Routed, stored: StoredUpdate): void {
    if (after.kind === "cancelled" || after.processed) this.deps.metrics?.updatesProcessed.inc();
    if (after.kind === "cancelled") this.afterEndInBackground(after.run, "cancelled");
    if (after.kind === "execute") void this.executor.execute(after.runId, after.fresh);
    if (callbackQueryId !== undefined) void this.deps.outbox.answerCallbackQuery(callbackQueryId, notice, { update_id: stored.updateId, chat_id: stored.chatId });
  }

  /** Cancels a run (admin API): ends it and its pending question, tells the user. */
  async cancel(runId: number): Promise<CancelOutcome> {
    const run = await runAsync(this.store.runById(runId));
    if (!run) return { kind: "not_found" };
    if (!ACTIVE.includes(run.status)) return { kind: "not_active", status: run.status };
    // A waiting run's chat may be held by no instance (let go while idle), or by another one.
    if (!(await this.scope.hold(run.chatId))) return { kind: "elsewhere" };
    const update = JSON.parse(run.trigger) as TelegramUpdate;
    const ended = await this.transaction(() => cancelWrites(this.endWrites, run, update));
    // It ended on its own meanwhile (done or failed): that end stands.
    if (!ended) return { kind: "not_active", status: (await runAsync(this.store.runById(runId)))!.status };
    await this.afterEnd(run, "cancelled");
    return { kind: "cancelled", run: (await runAsync(this.store.runById(runId)))! };
  }

  /** Starts the conversation's next queued update, if it is idle (one transaction: a crash loses neither). */
  private async startNext(conversation: string, chatId: number | null): Promise<void> {
    const stopping = this.stopping;
    const started = await this.transaction(() => startNextWrites(this.endWrites, conversation, chatId, stopping), { immediate: true });
    this.startRun(started());
  }

  private startRun(started: StartedRun | undefined): void {
    if (started) void this.executor.execute(started.run.id, started);
  }

  /** Records how an execution ended. A suspended run is already waiting in the database. */
  private async finish(run: RunRow, update: TelegramUpdate, outcome: ExecutionOutcome, aborted: () => boolean): Promise<void> {
    const ending = runEndingOf(outcome);
    if (aborted() || ending.kind === "none") return;
    const ids = { run_id: run.id, chat_id: run.chatId, update_id: run.triggerUpdateId };
    try {
      if (ending.kind === "done") {
        // The end and the start of the conversation's next queued update are one commit.
        const startNext = await this.batched.run(() => doneWrites(this.endWrites, run, aborted, () => this.stopping), run.chatId);
        if (!startNext) return;
        this.deps.metrics?.updatesProcessed.inc();
        await this.afterEnd(run, "done", startNext);
      } else if (ending.kind === "replay") {
        // The failed write committed nothing: the journal is as it was.
        this.deps.log.warn("runtime: the database failed under a run; replaying it shortly", { ...ids, retry_in_ms: STORAGE_REPLAY_MS, ...errorFields(ending.error) });
        this.replayLater(run.id);
      } else {
        const { error } = ending;
        this.deps.log.error(ending.log, { ...ids, ...errorFields(error) });
        // Cancelled meanwhile (the admin API, in its own transaction): the cancel stands.
        if (!(await this.transaction(() => failedWrites(this.endWrites, run, update, error, ending.tell)))) return;
        this.deps.metrics?.updatesFailed.inc();
        await this.afterEnd(run, "failed");
      }
    } catch (recordError) {
      if (!isTransientStorageError(recordError)) throw recordError;
      // Left alone, the run (or its conversation's queue) would wait for a restart.
      this.deps.log.error("runtime: could not record a run's end; trying again shortly", { ...ids, retry_in_ms: STORAGE_REPLAY_MS, ...errorFields(recordError) });
      this.replayLater(run.id);
    }
  }

  /** Question timeouts and sleeps due at `now`: settled, then their runs execute again. */
  private async wakeDue(now: number): Promise<void> {
    for (;;) {
      const due = await runAsync(this.store.dueSteps(now, 500, this.scope.owned()));
      if (due.length === 0) return;
      const woken = await this.transaction(() => settleDueWrites(this.endWrites, due, now));
      for (const step of woken) void this.executor.execute(step.runId);
      if (due.length < 500) return;
    }
  }

  /**
   * After a storage failure: executes the run again from its journal while it is still active,
   * or, when it had ended and starting its conversation's next update is what failed, starts that.
   */
  private replayLater(runId: number): void {
    this.deps.clock.setTimeout(async () => {
      if (this.stopping || this.executor.isExecuting(runId)) return;
      try {
        const run = await runAsync(this.store.runById(runId));
        if (run?.status === "running") void this.executor.execute(runId);
        else if (run && !ACTIVE.includes(run.status)) await this.startNext(run.conversation, run.chatId);
      } catch (error) {
        if (!isTransientStorageError(error)) {
          this.deps.log.error("runtime: could not resume a run after a storage failure", { run_id: runId, ...errorFields(error) });
          return;
        }
        this.replayLater(runId);
      }
    }, STORAGE_REPLAY_MS);
  }

  /** After the end is committed: stop the live execution and start the conversation's next update. */
  private async afterEnd(run: RunRow, status: RunStatus, startNext?: () => StartedRun | undefined): Promise<void> {
    // A cancelled run's trigger update is done too (done and failed runs count where they end).
    if (status === "cancelled") this.deps.metrics?.updatesProcessed.inc();
    if (status === "cancelled") this.executor.cancel(run.id);
    // `startNext`: the next update was already recorded in the end's own transaction.
    if (startNext) this.startRun(startNext());
    else await this.startNext(run.conversation, run.chatId);
  }

  /** afterEnd for a /cancel routed in a batch: its conversation's next update, retried if the database fails. */
  private afterEndInBackground(run: RunRow, status: RunStatus): void {
    this.afterEnd(run, status).catch((error: unknown) => {
      this.deps.log.error("runtime: could not start a conversation's next update; trying again shortly", { run_id: run.id, ...errorFields(error) });
      if (isTransientStorageError(error)) this.replayLater(run.id);
    });
  }

  /**
   * Relaxed commits: run state is redone from the journal after a loss, and the outbox's durable
   * commit of its `sending` marks puts the journal on disk before any message it led to goes out.
   */
  private async transaction<T>(fn: () => Op<T>, options?: { immediate?: boolean }): Promise<T> {
    try {
      return await this.deps.storage.transaction(fn, options);
    } catch (error) {
      // Rolled back: what it unparked is queued again, what it ended is active again.
      this.hints.reload();
      throw error;
    }
  }

  /** Stops starting runs; runs in flight are left at their last journaled step and replay on the next start. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopping = true;
    this.executor.stop();
    this.timers.stop();
    // Waiting runs hold no execution; only wait for those actually executing.
    const deadline = Date.now() + timeoutMs;
    while (this.executor.busy > 0 && Date.now() < deadline) await Bun.sleep(10);
  }

  /** Live executions (tests and shutdown). */
  get executing(): number {
    return this.executor.executing;
  }
}

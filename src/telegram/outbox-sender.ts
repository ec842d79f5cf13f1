import type { Clock } from "../clock.ts";
import type { DurableCommit } from "../db/durable-commit.ts";
import type { Op } from "../db/op.ts";
import { detached } from "../detached.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import type { ChatScope } from "../runtime/chat-scope.ts";
import type { ApiOutcome, TelegramApi } from "./api.ts";
import type { ChatQueue, ChatQueues, PickedSend } from "./chat-queues.ts";
import { writeOutcome, type OutcomeDeps } from "./outbox-outcomes.ts";
import { sendRow, type SendRow } from "./outbox-send.ts";
import type { OutboxStore, SentMark } from "./outbox-store.ts";
import type { WakeTimer } from "./wake-timer.ts";

/** A send Telegram has answered, waiting for its outcome to be recorded. */
interface Answered {
  chat: ChatQueue;
  row: SendRow;
  outcome: ApiOutcome<{ message_id: number }>;
  /** When the answer arrived: spacing, retry_after and backoff count from here. */
  at: number;
  /** Its chat has moved on (a commit that wrote its outcome failed; the next writes it again). */
  applied?: boolean;
}

export interface OutboxSenderDeps {
  store: OutboxStore;
  durable: DurableCommit;
  api: TelegramApi;
  clock: Clock;
  log: Logger;
  scope: ChatScope;
  queues: ChatQueues;
  /** The timer `queues` sets; its `onDue` is this sender's tick. */
  timer: WakeTimer;
  /** How an answer's outcome is written (writeOutcome). */
  outcomes: OutcomeDeps;
}

/**
 * The outbox's sending loop (the guarantees are in Outbox's doc): each tick records the answers
 * since the last one and marks the sends it picks in one durable commit, then starts those sends;
 * one commit at a time. Its stop starts no new send and waits for those in flight.
 */
export class OutboxSender {
  private readonly answered: Answered[] = [];
  private inFlight = 0;
  private tickScheduled = false;
  /** A tick's durable commit is in flight (see commitThenSend). */
  private committing = false;
  /** A tick was asked for (a timer, an enqueue) while a commit was in flight: it runs after that commit. */
  private tickDeferred = false;
  private stopping = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private drainWaiters: (() => void)[] = [];
  private readonly store: OutboxStore;
  private readonly durable: DurableCommit;
  private readonly api: TelegramApi;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly scope: ChatScope;
  private readonly queues: ChatQueues;
  private readonly timer: WakeTimer;
  private readonly outcomes: OutcomeDeps;

  constructor(deps: OutboxSenderDeps) {
    this.store = deps.store;
    this.durable = deps.durable;
    this.api = deps.api;
    this.clock = deps.clock;
    this.log = deps.log;
    this.scope = deps.scope;
    this.queues = deps.queues;
    this.timer = deps.timer;
    this.outcomes = deps.outcomes;
  }

  /** Runs the sender soon (after the current synchronous work, so a surrounding transaction has committed). */
  schedule(): void {
    if (this.tickScheduled || this.closed) return;
    this.tickScheduled = true;
    // Often called inside a caller's transaction (a reply stored with its journal entry): the tick must not join it.
    detached(() =>
      setImmediate(() => {
        this.tickScheduled = false;
        this.tick();
      }),
    );
  }

  tick(): void {
    if (this.closed) return;
    // One durable commit at a time: what arrives meanwhile is taken by the tick that follows it.
    if (this.committing) {
      this.tickDeferred = true;
      return;
    }
    this.tickDeferred = false;
    this.commitThenSend(this.answered.splice(0));
  }

  /**
   * One commit for the outcomes of every answer since the last tick and the `sending` marks of the
   * sends that are due now, the next rows of the chats those answers freed included. It is made
   * durable (DurableCommit: on SQLite a relaxed commit, then an fdatasync of the WAL on the thread
   * pool) before any of these sends starts. So a chat's next message goes out only once the
   * previous one's record is on disk, and at most SEND_CONCURRENCY sent messages are ever without
   * a durable record.
   */
  private commitThenSend(all: Answered[]): void {
    const now = this.clock.now();
    // Answers for chats another instance took over are not recorded here: their rows stay `sending`
    // and the new owner sends them again (SPEC's in-flight allowance).
    const answers = all.filter((answer) => this.scope.owns(answer.chat.chatId));
    // Sends still counted in flight (an answer whose chat moved on after a failed commit no longer is).
    this.inFlight -= all.filter((answer) => !answer.applied && !this.scope.owns(answer.chat.chatId)).length;
    let starting: PickedSend[] = [];
    this.committing = true;
    const tick = this.durable.commit(
      () => this.tickWrites(answers, now, (picked) => (starting = picked)),
      () => answers.length > 0 || starting.length > 0,
    );
    void tick
      .then(
        () => this.startSends(starting),
        (error: unknown) => {
          this.answered.unshift(...answers);
          // Nothing was marked (disk full, read-only): free the chats so the retry tick can start them.
          this.queues.release(starting);
          // The database failed under us; try again shortly rather than stall every chat for good.
          this.log.error("outbox: could not record or start sends; retrying in 1 s", errorFields(error));
          this.timer.sleepUntil(this.clock.now() + 1000);
        },
      )
      .finally(() => {
        this.committing = false;
        if (answers.length > 0 || starting.length > 0 || this.answered.length > 0 || this.tickDeferred) this.schedule();
        if (this.inFlight === 0) for (const resolve of this.drainWaiters.splice(0)) resolve();
        if (this.inFlight === 0 && this.queues.isEmpty() && this.answered.length === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
      });
  }

  /** The tick's writes: the answers' outcomes, then the `sending` marks of the sends due now. */
  private *tickWrites(answers: Answered[], now: number, picked: (starting: PickedSend[]) => void): Op<void> {
    // Each chat's fence once, for all the tick's chats together (on PostgreSQL one statement).
    const fenced = new Set(answers.map((answer) => answer.chat.chatId));
    yield* this.scope.fenceAll(fenced);
    const sent: SentMark[] = [];
    for (const answer of answers) {
      const freeChat = yield* this.record(answer, sent);
      // A retry after a failed commit only writes the outcome again: its chat moved on already.
      if (!answer.applied) freeChat();
      answer.applied = true;
    }
    if (sent.length > 0) yield* this.store.markSent(sent);
    const starting = this.stopping ? [] : yield* this.queues.pickSends(this.inFlight);
    picked(starting);
    yield* this.scope.fenceAll(new Set(starting.map(({ chat }) => chat.chatId).filter((chatId) => !fenced.has(chatId))));
    if (starting.length > 0) yield* this.store.markSending(starting.map(({ row }) => row.id), now);
  }

  private startSends(starting: PickedSend[]): void {
    if (this.stopping) {
      // Marked `sending` but never sent: sent on the next start.
      this.queues.release(starting);
      return;
    }
    this.inFlight += starting.length;
    for (const { chat, row } of starting) void this.send(chat, row);
  }

  /** Writes one answer's outcome (inside commitThenSend's transaction); returns what it does to the chat in memory. */
  private *record({ chat, row, outcome, at }: Answered, sent: SentMark[]): Op<() => void> {
    const change = yield* writeOutcome(this.outcomes, row, outcome, at, chat.ids.length, sent);
    return () => {
      this.inFlight--;
      this.queues.settle(chat, change, at);
    };
  }

  private async send(chat: ChatQueue, row: SendRow): Promise<void> {
    const outcome = await sendRow(this.api, row);
    this.answered.push({ chat, row, outcome, at: this.clock.now() });
    this.schedule();
  }

  /** Resolves when nothing is queued or in flight. */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0 && !this.committing && this.queues.isEmpty() && this.answered.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Starts no new send; resolves once every send in flight has its outcome recorded, or after `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    this.timer.cancel();
    if (this.inFlight > 0 || this.committing) {
      let expire: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.drainWaiters.push(resolve)),
        new Promise<void>((resolve) => (expire = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(expire);
      if (this.inFlight > 0) this.log.warn("outbox: stopped with sends still in flight; they are sent again on the next start", { count: this.inFlight });
    }
    // The database closes after this; late answers are left for the next start.
    this.closed = true;
  }
}

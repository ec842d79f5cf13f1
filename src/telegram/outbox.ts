import type { Clock } from "../clock.ts";
import { runAsync, type Op } from "../db/op.ts";
import type { OutboxStatus } from "../db/schema.ts";
import type { Metrics } from "../observability/metrics.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import type { ApiOutcome, TelegramApi } from "./api.ts";
import { CallbackAnswers } from "./callback-answers.ts";
import { sendRow, type SendRow } from "./outbox-send.ts";
import { splitText } from "./split-text.ts";
import { detached } from "../detached.ts";
import { localSendRate, type SendRate } from "./send-rate.ts";
import { EVERY_CHAT, type ChatScope } from "../runtime/chat-scope.ts";
import type { AnyOutboxRows, SqliteOutboxRows } from "./outbox-rows.ts";
import type { OutboxStorage } from "./outbox-storage.ts";
import { writeOutcome, type OutcomeDeps } from "./outbox-outcomes.ts";
import type { OutboxStore } from "./outbox-store.ts";
import type { OutboundMessage, OutboxRetry, OutboxRow, OutboxSettings } from "./outbox-types.ts";

export { pgOutboxStorage, sqliteOutboxStorage, type OutboxStorage } from "./outbox-storage.ts";
export type { OutboundMarkupEdit, OutboundMessage, OutboundText, OutboxRetry, OutboxRow, OutboxSettings } from "./outbox-types.ts";

interface ChatQueue {
  chatId: number;
  /** Row ids waiting, oldest first; only the head is ever sent, the rest wait for it. */
  ids: number[];
  busy: boolean;
  /** Earliest time the chat may send again (per-chat spacing, a 429's retry_after, a backoff). */
  notBefore: number;
}

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

type Start = { chat: ChatQueue; row: SendRow };

/**
 * The durable outbox. `enqueue` writes rows (inside the caller's transaction when there is one);
 * a sender delivers them in order per chat (only a chat's oldest row is ever in flight), chats
 * in parallel, within SEND_RATE_PER_CHAT (private chats) or SEND_RATE_PER_GROUP (groups,
 * supergroups and channels: negative chat ids), SEND_RATE_GLOBAL and SEND_CONCURRENCY, without
 * polling (it wakes on enqueue, on an answer, or on a timer set to the next due time). A row is
 * a message (sendMessage) or a new inline keyboard for a sent message (editMessageReplyMarkup).
 *
 * A row is marked `sending` before the call and `sent` with Telegram's message_id after the
 * answer, in a durable commit; a send counts as in flight until that record is on disk. So only
 * a crash between an answer and its record sends a message twice, and at most SEND_CONCURRENCY
 * messages can be in that state. Each tick writes the outcomes of the answers since the last one
 * and the `sending` marks of the sends it starts in one commit, fsynced (on the thread pool)
 * before the chats are freed and the sends start: it puts the rows, and the run journal committed
 * (relaxed) before them, on disk before any of these messages goes out, so not even a power loss
 * can make a replayed run send one again.
 *
 * Errors (outbox-outcomes.ts): a 429 pauses only the chat it came from (Telegram's sendMessage 429
 * names no scope; the global rate is kept below Telegram's by SEND_RATE_GLOBAL instead); 5xx and
 * network errors are retried with backoff; a group that became a supergroup takes its rows along;
 * anything else fails the row at once. A failed row never blocks the chat's later messages.
 */
export class Outbox<Rows extends AnyOutboxRows = SqliteOutboxRows> {
  private readonly chats = new Map<number, ChatQueue>();
  private readonly answered: Answered[] = [];
  private inFlight = 0;
  private readonly sendRate: SendRate;
  private readonly scope: ChatScope;
  private timer: { cancel(): void } | undefined;
  private timerAt = Infinity;
  private tickScheduled = false;
  /** A tick's durable commit is in flight (see commitThenSend). */
  private committing = false;
  /** A tick was asked for (a timer, an enqueue) while a commit was in flight: it runs after that commit. */
  private tickDeferred = false;
  private readonly store: OutboxStore;
  private readonly outcomeDeps: OutcomeDeps;
  private stopping = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private drainWaiters: (() => void)[] = [];
  private readonly privateIntervalMs: number;
  private readonly groupIntervalMs: number;
  private readonly callbackAnswers: CallbackAnswers;
  private readonly backoffBaseMs: number;
  private readonly backoffCapMs: number;

  constructor(
    private readonly storage: OutboxStorage<Rows>,
    private readonly api: TelegramApi,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly settings: OutboxSettings,
    private readonly metrics?: Metrics,
    private readonly random: () => number = Math.random,
  ) {
    this.sendRate = settings.sendRate ?? localSendRate(settings.rateGlobal, clock.now());
    this.scope = settings.scope ?? EVERY_CHAT;
    this.privateIntervalMs = 1000 / settings.ratePerChat;
    this.groupIntervalMs = 1000 / (settings.ratePerGroup ?? settings.ratePerChat);
    this.callbackAnswers = new CallbackAnswers({ api, clock, log });
    this.store = storage.store;
    this.backoffBaseMs = settings.backoffBaseMs ?? 1000;
    this.backoffCapMs = settings.backoffCapMs ?? 30_000;
    this.outcomeDeps = {
      store: this.store,
      log,
      maxAttempts: settings.maxAttempts,
      backoffBaseMs: this.backoffBaseMs,
      backoffCapMs: this.backoffCapMs,
      random,
      intervalFor: (chatId) => this.intervalFor(chatId),
      ...(metrics ? { metrics } : {}),
    };
  }

  /** Loads what a previous process left: `sending` rows (maybe sent, maybe not) are retried, `queued` rows sent. */
  async start(): Promise<void> {
    // With leased chats (PostgreSQL), each chat's rows are loaded when it is taken over (adopt).
    if (this.scope.owned() === undefined) await this.resume(undefined);
  }

  /** A chat this instance took over: the rows its previous owner left, `sending` ones sent again. */
  adopt(chatId: number): Promise<void> {
    return this.resume(chatId);
  }

  /** True while the chat has messages queued or in flight here. */
  hasWork(chatId: number): boolean {
    return this.chats.has(chatId);
  }

  /** A chat another instance took over: nothing more is sent or recorded for it here. */
  drop(chatId: number): void {
    this.chats.delete(chatId);
  }

  private async resume(chatId: number | undefined): Promise<void> {
    const now = this.clock.now();
    const { store } = this;
    const rows = await runAsync(
      (function* () {
        const reset = yield* store.requeueSending(now, chatId);
        return { reset, queued: yield* store.queued(chatId) };
      })(),
    );
    if (rows.reset > 0) this.log.warn("outbox: sending again messages whose send was interrupted (a restart, or an instance that stopped)", { count: rows.reset, chat_id: chatId });
    for (const row of rows.queued) this.track(row.chatId, row.id, row.nextAttemptAt);
    if (rows.queued.length > 0 && chatId === undefined) this.log.info("outbox: resuming queued messages", { count: rows.queued.length });
    this.schedule();
  }

  /**
   * Stores a message (split into parts of at most 4096 characters, one row each, in order), or a
   * keyboard edit (one row), and returns the row ids. Inside a transaction the rows commit with
   * it; the sender only looks at them once the current synchronous work (and so the transaction)
   * is over.
   */
  enqueue(message: OutboundMessage): number[] {
    // Alone, the parts still commit together (inside a caller's transaction, they join it).
    return this.storage.transaction(() => this.enqueueOp(message));
  }

  /** enqueue as an Op, for the runtime's transactions. */
  *enqueueOp(message: OutboundMessage): Op<number[]> {
    const now = this.clock.now();
    const edit = message.method === "editMessageReplyMarkup";
    const fields = edit ? { ...message.options, ...(message.replyMarkup !== undefined ? { reply_markup: message.replyMarkup } : {}) } : message.options;
    const options = fields && Object.keys(fields).length ? JSON.stringify(fields) : null;
    const parts = edit ? [""] : splitText(message.text);
    const method = edit ? "editMessageReplyMarkup" : "sendMessage";
    const messageId = edit ? message.messageId : null;
    const ids: number[] = [];
    for (const text of parts) {
      ids.push(yield* this.store.insert({ chatId: message.chatId, method, text, options, messageId, runId: message.runId ?? null, updateId: message.updateId ?? null }, now));
    }
    this.storage.afterCommit(() => {
      for (const id of ids) this.track(message.chatId, id, now);
      this.schedule();
    });
    return ids;
  }

  private track(chatId: number, id: number, notBefore: number): void {
    let chat = this.chats.get(chatId);
    if (!chat) {
      chat = { chatId, ids: [], busy: false, notBefore: 0 };
      this.chats.set(chatId, chat);
    }
    chat.ids.push(id);
    chat.notBefore = Math.max(chat.notBefore, notBefore);
  }

  /** Runs the sender soon (after the current synchronous work, so a surrounding transaction has committed). */
  private schedule(): void {
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

  private tick(): void {
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
    let starting: Start[] = [];
    this.committing = true;
    const tick = this.storage.durable.commit(
      () => this.tickWrites(answers, now, (picked) => (starting = picked)),
      () => answers.length > 0 || starting.length > 0,
    );
    void tick
      .then(
        () => this.startSends(starting),
        (error: unknown) => {
          this.answered.unshift(...answers);
          // Nothing was marked (disk full, read-only): free the chats so the retry tick can start them.
          for (const { chat } of starting) chat.busy = false;
          // The database failed under us; try again shortly rather than stall every chat for good.
          this.log.error("outbox: could not record or start sends; retrying in 1 s", errorFields(error));
          this.sleepUntil(this.clock.now() + 1000);
        },
      )
      .finally(() => {
        this.committing = false;
        if (answers.length > 0 || starting.length > 0 || this.answered.length > 0 || this.tickDeferred) this.schedule();
        if (this.inFlight === 0) for (const resolve of this.drainWaiters.splice(0)) resolve();
        if (this.inFlight === 0 && this.chats.size === 0 && this.answered.length === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
      });
  }

  /** The tick's writes: the answers' outcomes, then the `sending` marks of the sends due now. */
  private *tickWrites(answers: Answered[], now: number, picked: (starting: Start[]) => void): Op<void> {
    const fenced = new Set<number>();
    const fence = function* (scope: ChatScope, chatId: number): Op<void> {
      if (fenced.has(chatId)) return;
      fenced.add(chatId);
      yield* scope.fence(chatId);
    };
    for (const answer of answers) yield* fence(this.scope, answer.chat.chatId);
    for (const answer of answers) {
      const freeChat = yield* this.record(answer);
      // A retry after a failed commit only writes the outcome again: its chat moved on already.
      if (!answer.applied) freeChat();
      answer.applied = true;
    }
    const starting = this.stopping ? [] : yield* this.pickSends();
    picked(starting);
    for (const { chat } of starting) yield* fence(this.scope, chat.chatId);
    for (const { row } of starting) yield* this.store.markSending(row.id, now);
  }

  private startSends(starting: Start[]): void {
    if (this.stopping) {
      // Marked `sending` but never sent: sent on the next start.
      for (const { chat } of starting) chat.busy = false;
      return;
    }
    this.inFlight += starting.length;
    for (const { chat, row } of starting) void this.send(chat, row);
  }

  /** Writes one answer's outcome (inside commitThenSend's transaction); returns what it does to the chat in memory. */
  private *record({ chat, row, outcome, at }: Answered): Op<() => void> {
    const change = yield* writeOutcome(this.outcomeDeps, row, outcome, at, chat.ids.length);
    return () => {
      chat.busy = false;
      this.inFlight--;
      if (change.kind === "moved") {
        for (const id of chat.ids.splice(0)) this.track(change.to, id, at);
        return;
      }
      if (change.kind === "next") chat.ids.shift();
      chat.notBefore = Math.max(chat.notBefore, change.notBefore);
    };
  }

  /** The spacing between two messages to one chat: groups, supergroups and channels have negative ids. */
  private intervalFor(chatId: number): number {
    return chatId < 0 ? this.groupIntervalMs : this.privateIntervalMs;
  }

  /**
   * The sends that are due now (their chats marked busy); sets a timer for the next one. Their
   * head rows are read together and the global rate is asked once for all of them: on
   * PostgreSQL each is a round trip.
   */
  private *pickSends(): Op<Start[]> {
    const now = this.clock.now();
    let wakeAt = Infinity;
    const due: ChatQueue[] = [];
    for (const chat of [...this.chats.values()]) {
      if (this.inFlight + due.length >= this.settings.concurrency) break;
      if (chat.busy) continue;
      if (chat.ids.length === 0 || !this.scope.owns(chat.chatId)) {
        this.chats.delete(chat.chatId);
        continue;
      }
      if (chat.notBefore > now) {
        wakeAt = Math.min(wakeAt, chat.notBefore);
        continue;
      }
      due.push(chat);
    }
    const starting: Start[] = [];
    if (due.length > 0) {
      // The rate first: under a rate limit most ticks start nothing, and read no row for it. A
      // head found gone afterwards wastes its grant (a send a little under the rate, never over).
      const { granted, waitMs } = yield* this.sendRate.takeUpTo(due.length, now);
      if (granted < due.length) wakeAt = Math.min(wakeAt, now + waitMs);
      const ready = granted > 0 ? yield* this.headRows(due.slice(0, granted)) : [];
      for (const start of ready) {
        start.chat.busy = true;
        starting.push(start);
        // Move the chat to the back so chats take turns.
        this.chats.delete(start.chat.chatId);
        this.chats.set(start.chat.chatId, start.chat);
      }
    }
    this.sleepUntil(wakeAt);
    return starting;
  }

  /** Each chat's oldest row still to send; drops ids whose rows are gone, done, or not the chat's (and chats left with none). */
  private *headRows(chats: ChatQueue[]): Op<Start[]> {
    const found: Start[] = [];
    let pending = chats;
    while (pending.length > 0) {
      const rows = new Map((yield* this.store.readMany(pending.map((chat) => chat.ids[0]!))).map((row) => [row.id, row]));
      const again: ChatQueue[] = [];
      for (const chat of pending) {
        const row = rows.get(chat.ids[0]!);
        // A rolled-back enqueue leaves an id behind, and SQLite may give that id to another row.
        if (row && row.chat_id === chat.chatId && (row.status === "queued" || row.status === "sending")) {
          found.push({ chat, row });
          continue;
        }
        chat.ids.shift();
        if (chat.ids.length > 0) again.push(chat);
        else this.chats.delete(chat.chatId);
      }
      pending = again;
    }
    // In the order the chats take turns.
    const order = new Map(chats.map((chat, i) => [chat, i]));
    return found.sort((a, b) => order.get(a.chat)! - order.get(b.chat)!);
  }

  private async send(chat: ChatQueue, row: SendRow): Promise<void> {
    const outcome = await sendRow(this.api, row);
    this.answered.push({ chat, row, outcome, at: this.clock.now() });
    this.schedule();
  }

  private sleepUntil(at: number): void {
    if (!Number.isFinite(at)) return;
    if (this.timer && this.timerAt <= at) return;
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = detached(() =>
      this.clock.setTimeout(() => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.tick();
      }, at - this.clock.now()),
    );
  }

  /**
   * Shows "typing" in a chat; not stored and never retried (it only matters now). `target`: the
   * sendChatAction options that put it where the update came from (message_thread_id,
   * business_connection_id); a bare number is a forum topic.
   */
  async typing(chatId: number, target?: number | Record<string, unknown>): Promise<void> {
    const where = typeof target === "number" ? { message_thread_id: target } : (target ?? {});
    const outcome = await this.api.call("sendChatAction", { ...where, chat_id: chatId, action: "typing" });
    if (!outcome.ok) this.log.debug("typing indicator not shown", { chat_id: chatId, error: outcome.description });
  }

  /**
   * Answers a callback query at once (not stored, not spaced per chat), with `text` as a short
   * notice when given; retried a few times on network errors, 5xx and 429, and logged when it
   * finally fails. Resolves with the last outcome.
   */
  answerCallbackQuery(callbackQueryId: string, text?: string): Promise<ApiOutcome<true>> {
    return this.callbackAnswers.answer(callbackQueryId, text);
  }

  /** Resolves when nothing is queued or in flight (tests and benchmarks). */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0 && !this.committing && this.chats.size === 0 && this.answered.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Starts no new send; resolves once every send in flight has its outcome recorded (or after
   * `timeoutMs`: those rows stay `sending` and are sent again on the next start).
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopping = true;
    this.timer?.cancel();
    this.timer = undefined;
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

  counts(): ReturnType<Rows["counts"]> {
    return this.storage.rows.counts() as ReturnType<Rows["counts"]>;
  }

  /** Rows newest first; `beforeId` pages back from there. */
  list(filter: { status?: OutboxStatus; limit: number; beforeId?: number }): ReturnType<Rows["list"]> {
    return this.storage.rows.list(filter) as ReturnType<Rows["list"]>;
  }

  /** Every row a run led to (its replies, questions and timbre's notices), oldest first (admin: a run's journal). */
  ofRun(runId: number): ReturnType<Rows["ofRun"]> {
    return this.storage.rows.ofRun(runId) as ReturnType<Rows["ofRun"]>;
  }

  /**
   * Puts a failed message back in its chat's queue (the admin retry): `queued` again with its
   * attempts reset, sent after whatever that chat already has queued, with the same per-chat
   * spacing and global rate as any message. `last_error` stays until it is sent. After a restart
   * before it is sent, queued rows resume in id order, so it then goes in its first place.
   */
  async retry(id: number): Promise<OutboxRetry> {
    const now = this.clock.now();
    const { store } = this;
    const result = await runAsync(
      (function* () {
        const row = yield* store.requeueFailed(id, now);
        return { row, status: row ? undefined : yield* store.status(id) };
      })(),
    );
    if (!result.row) return result.status ? { outcome: "not_failed", status: result.status } : { outcome: "not_found" };
    this.track(result.row.chatId, result.row.id, now);
    this.schedule();
    return { outcome: "queued", row: result.row };
  }

  /** Deletes sent rows older than `olderThanMs`; failed rows are kept twice as long. */
  prune(olderThanMs = 48 * 3_600_000): ReturnType<Rows["prune"]> {
    return this.storage.rows.prune(this.clock.now(), olderThanMs) as ReturnType<Rows["prune"]>;
  }
}

import type { Clock } from "../clock.ts";
import { runAsync, type Op } from "../db/op.ts";
import type { OutboxStatus } from "../db/schema.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Logger } from "../observability/log.ts";
import type { ApiOutcome, TelegramApi } from "./api.ts";
import { CallbackAnswers, type TapIds } from "./callback-answers.ts";
import { ChatQueues } from "./chat-queues.ts";
import { OutboxSender } from "./outbox-sender.ts";
import { messageParts, optionsJson } from "./message-parts.ts";
import { localSendRate } from "./send-rate.ts";
import { EVERY_CHAT, type ChatScope } from "../runtime/chat-scope.ts";
import type { AnyOutboxRows, SqliteOutboxRows } from "./outbox-rows.ts";
import type { OutboxStorage } from "./outbox-storage.ts";
import type { OutboxStore } from "./outbox-store.ts";
import type { OutboundMessage, OutboxRetry, OutboxSettings } from "./outbox-types.ts";
import { WakeTimer } from "./wake-timer.ts";

export { pgOutboxStorage, sqliteOutboxStorage, type OutboxStorage } from "./outbox-storage.ts";
export type { OutboundMarkupEdit, OutboundMessage, OutboundText, OutboxRetry, OutboxRow, OutboxSettings } from "./outbox-types.ts";

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
  private readonly scope: ChatScope;
  private readonly store: OutboxStore;
  private readonly queues: ChatQueues;
  private readonly sender: OutboxSender;
  private readonly callbackAnswers: CallbackAnswers;
  private readonly intervalFor: (chatId: number) => number;

  constructor(
    private readonly storage: OutboxStorage<Rows>,
    private readonly api: TelegramApi,
    private readonly clock: Clock,
    private readonly log: Logger,
    settings: OutboxSettings,
    metrics?: Metrics,
    random: () => number = Math.random,
  ) {
    this.scope = settings.scope ?? EVERY_CHAT;
    this.store = storage.store;
    this.callbackAnswers = new CallbackAnswers({ api, clock, log });
    const privateIntervalMs = 1000 / settings.ratePerChat;
    const groupIntervalMs = 1000 / (settings.ratePerGroup ?? settings.ratePerChat);
    // The spacing between two messages to one chat: groups, supergroups and channels have negative ids.
    this.intervalFor = (chatId) => (chatId < 0 ? groupIntervalMs : privateIntervalMs);
    // The queues set it and it wakes the sender, made below once the queues it sends from exist.
    const timer = new WakeTimer(clock, () => this.sender.tick());
    this.queues = new ChatQueues({
      store: this.store,
      sendRate: settings.sendRate ?? localSendRate(settings.rateGlobal, clock.now()),
      scope: this.scope,
      clock,
      concurrency: settings.concurrency,
      timer,
    });
    this.sender = new OutboxSender({
      store: this.store,
      durable: storage.durable,
      api,
      clock,
      log,
      scope: this.scope,
      queues: this.queues,
      timer,
      outcomes: {
        store: this.store,
        log,
        maxAttempts: settings.maxAttempts,
        backoffBaseMs: settings.backoffBaseMs ?? 1000,
        backoffCapMs: settings.backoffCapMs ?? 30_000,
        random,
        intervalFor: this.intervalFor,
        ...(metrics ? { metrics } : {}),
      },
    });
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
    return this.queues.has(chatId);
  }

  /** A chat another instance took over: nothing more is sent or recorded for it here. */
  drop(chatId: number): void {
    this.queues.drop(chatId);
  }

  private async resume(chatId: number | undefined): Promise<void> {
    const now = this.clock.now();
    const { store } = this;
    const longestSpacingMs = Math.max(this.intervalFor(1), this.intervalFor(-1));
    const rows = await runAsync(
      (function* () {
        const reset = yield* store.requeueSending(now, chatId);
        const queued = yield* store.queued(chatId);
        // Each chat keeps its spacing after the last message sent to it, across a restart (every
        // chat sent to within the longest spacing, queued or not: its next message may come any
        // moment) and a takeover (the chat taken over, by whichever instance).
        const lastSent = new Map<number, number>();
        if (chatId === undefined) {
          for (const { chatId: chat, at } of yield* store.sentSince(now - longestSpacingMs)) lastSent.set(chat, at);
        } else {
          const at = yield* store.lastSentAt(chatId);
          if (at !== undefined) lastSent.set(chatId, at);
        }
        return { reset, queued, lastSent };
      })(),
    );
    for (const [chat, at] of rows.lastSent) this.queues.spaceUntil(chat, at + this.intervalFor(chat));
    if (rows.reset > 0) this.log.warn("outbox: sending again messages whose send was interrupted (a restart, or an instance that stopped)", { count: rows.reset, chat_id: chatId });
    for (const row of rows.queued) this.queues.track(row.chatId, row.id, row.nextAttemptAt);
    if (rows.queued.length > 0 && chatId === undefined) this.log.info("outbox: resuming queued messages", { count: rows.queued.length });
    this.sender.schedule();
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
    const parts = edit ? [{ text: "", options: optionsJson(fields) }] : messageParts(message.text, fields);
    const method = edit ? "editMessageReplyMarkup" : "sendMessage";
    const messageId = edit ? message.messageId : null;
    const ids: number[] = [];
    for (const { text, options } of parts) {
      ids.push(yield* this.store.insert({ chatId: message.chatId, method, text, options, messageId, runId: message.runId ?? null, updateId: message.updateId ?? null }, now));
    }
    this.storage.afterCommit(() => {
      for (const id of ids) this.queues.track(message.chatId, id, now);
      this.sender.schedule();
    });
    return ids;
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
  answerCallbackQuery(callbackQueryId: string, text?: string, tap?: TapIds): Promise<ApiOutcome<true>> {
    return this.callbackAnswers.answer(callbackQueryId, text, tap);
  }

  /** Resolves when nothing is queued or in flight (tests and benchmarks). */
  whenIdle(): Promise<void> {
    return this.sender.whenIdle();
  }

  /**
   * Starts no new send; resolves once every send in flight has its outcome recorded (or after
   * `timeoutMs`: those rows stay `sending` and are sent again on the next start).
   */
  stop(timeoutMs = 10_000): Promise<void> {
    return this.sender.stop(timeoutMs);
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
    const { store } = this;
    // Only the chat's holder sends its messages (PostgreSQL): this instance, taking the chat if it is free.
    const failed = await runAsync(store.read(id));
    if (failed?.status === "failed" && !(await this.scope.hold(failed.chat_id))) return { outcome: "elsewhere" };
    const now = this.clock.now();
    const result = await runAsync(
      (function* () {
        const row = yield* store.requeueFailed(id, now);
        return { row, status: row ? undefined : yield* store.status(id) };
      })(),
    );
    if (!result.row) return result.status ? { outcome: "not_failed", status: result.status } : { outcome: "not_found" };
    this.queues.track(result.row.chatId, result.row.id, now);
    this.sender.schedule();
    return { outcome: "queued", row: result.row };
  }

  /** Deletes sent rows older than `olderThanMs`; failed rows are kept twice as long. */
  prune(olderThanMs = 48 * 3_600_000): ReturnType<Rows["prune"]> {
    return this.storage.rows.prune(this.clock.now(), olderThanMs) as ReturnType<Rows["prune"]>;
  }
}

import { and, desc, eq, lt, sql } from "drizzle-orm";
import type { Clock } from "../clock.ts";
import type { Db } from "../db/index.ts";
import { outbox, type OutboxStatus } from "../db/schema.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Logger } from "../observability/log.ts";
import type { TelegramApi } from "./api.ts";
import { splitText } from "./split-text.ts";

export interface OutboundMessage {
  chatId: number;
  text: string;
  /** sendMessage options besides chat_id and text (parse_mode, reply_markup, message_thread_id...). */
  options?: Record<string, unknown>;
  runId?: number;
  updateId?: number;
}

export interface OutboxSettings {
  ratePerChat: number;
  rateGlobal: number;
  concurrency: number;
  maxAttempts: number;
  /** First retry delay after a 5xx or network error; doubles each attempt up to backoffCapMs. */
  backoffBaseMs?: number;
  backoffCapMs?: number;
}

export type OutboxRow = typeof outbox.$inferSelect;

interface ChatQueue {
  chatId: number;
  /** Row ids waiting, oldest first; the head is sent next, the rest wait for it. */
  ids: number[];
  busy: boolean;
  /** Earliest time the chat may send again (per-chat spacing, or a 429's retry_after). */
  notBefore: number;
}

/** A token bucket: `rate` tokens a second, holding at most one second's worth. */
class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly capacity: number;
  constructor(
    private readonly rate: number,
    now: number,
  ) {
    this.capacity = Math.max(1, rate);
    this.tokens = this.capacity;
    this.last = now;
  }
  private refill(now: number) {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
  nextTokenAt(now: number): number {
    this.refill(now);
    return now + Math.max(0, ((1 - this.tokens) / this.rate) * 1000);
  }
}

/**
 * The durable outbox. `enqueue` writes rows (it joins the caller's transaction when there is
 * one); a sender loop delivers them in order per chat, chats in parallel, within the per-chat
 * and global rates and SEND_CONCURRENCY, retrying 429s, 5xx and network errors. A row is
 * marked `sending` before the call and `sent` with Telegram's message_id after, so only a
 * crash between the two can send a message twice.
 */
export class Outbox {
  private readonly chats = new Map<number, ChatQueue>();
  private inFlight = 0;
  private readonly bucket: TokenBucket;
  private timer: { cancel(): void } | undefined;
  private timerAt = Infinity;
  private tickScheduled = false;
  private stopping = false;
  private readonly idle: (() => void)[] = [];
  private readonly backoffBaseMs: number;
  private readonly backoffCapMs: number;

  constructor(
    private readonly db: Db,
    private readonly api: TelegramApi,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly settings: OutboxSettings,
    private readonly metrics?: Metrics,
    private readonly random: () => number = Math.random,
  ) {
    this.bucket = new TokenBucket(settings.rateGlobal, clock.now());
    this.backoffBaseMs = settings.backoffBaseMs ?? 1000;
    this.backoffCapMs = settings.backoffCapMs ?? 30_000;
  }

  /** Loads what a previous process left: `sending` rows (maybe sent, maybe not) are retried, `queued` rows sent. */
  start(): void {
    const now = this.clock.now();
    const reset = this.db.update(outbox).set({ status: "queued", updatedAt: now }).where(eq(outbox.status, "sending")).run() as unknown as {
      changes: number;
    };
    if (reset.changes > 0) this.log.warn("outbox: retrying messages whose send was interrupted by a restart", { count: reset.changes });
    const rows = this.db
      .select({ id: outbox.id, chatId: outbox.chatId, nextAttemptAt: outbox.nextAttemptAt })
      .from(outbox)
      .where(eq(outbox.status, "queued"))
      .orderBy(outbox.id)
      .all();
    for (const row of rows) this.track(row.chatId, row.id, row.nextAttemptAt);
    this.schedule();
  }

  /**
   * Stores a message (split into parts of at most 4096 characters) and returns the row ids.
   * Inside a transaction the rows commit with it; the sender only sees them after the commit.
   */
  enqueue(message: OutboundMessage): number[] {
    const now = this.clock.now();
    const ids = splitText(message.text).map((part) => {
      const row = this.db
        .insert(outbox)
        .values({
          chatId: message.chatId,
          text: part,
          options: message.options && Object.keys(message.options).length ? JSON.stringify(message.options) : null,
          status: "queued",
          nextAttemptAt: now,
          runId: message.runId ?? null,
          updateId: message.updateId ?? null,
          createdAt: now,
          updatedAt: now,
        })
        .returning({ id: outbox.id })
        .get();
      return row.id;
    });
    for (const id of ids) this.track(message.chatId, id, now);
    this.schedule();
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
    if (this.tickScheduled || this.stopping) return;
    this.tickScheduled = true;
    setImmediate(() => {
      this.tickScheduled = false;
      this.tick();
    });
  }

  private tick(): void {
    if (this.stopping) return;
    const now = this.clock.now();
    let wakeAt = Infinity;
    for (const chat of [...this.chats.values()]) {
      if (this.inFlight >= this.settings.concurrency) break;
      if (chat.busy) continue;
      if (chat.ids.length === 0) {
        this.chats.delete(chat.chatId);
        continue;
      }
      if (chat.notBefore > now) {
        wakeAt = Math.min(wakeAt, chat.notBefore);
        continue;
      }
      if (!this.bucket.take(now)) {
        wakeAt = Math.min(wakeAt, this.bucket.nextTokenAt(now));
        break;
      }
      // Move the chat to the back so chats take turns.
      this.chats.delete(chat.chatId);
      this.chats.set(chat.chatId, chat);
      void this.sendHead(chat);
    }
    this.sleepUntil(wakeAt);
    if (this.inFlight === 0 && this.chats.size === 0) for (const resolve of this.idle.splice(0)) resolve();
  }

  private sleepUntil(at: number): void {
    if (!Number.isFinite(at)) return;
    if (this.timer && this.timerAt <= at) return;
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.tick();
    }, at - this.clock.now());
  }

  private async sendHead(chat: ChatQueue): Promise<void> {
    const id = chat.ids[0]!;
    const row = this.db.select().from(outbox).where(eq(outbox.id, id)).get();
    if (!row || row.status === "sent" || row.status === "failed") {
      chat.ids.shift();
      this.schedule();
      return;
    }
    chat.busy = true;
    this.inFlight++;
    const startedAt = this.clock.now();
    chat.notBefore = startedAt + 1000 / this.settings.ratePerChat;
    this.db.update(outbox).set({ status: "sending", updatedAt: startedAt }).where(eq(outbox.id, id)).run();
    const options = row.options ? (JSON.parse(row.options) as Record<string, unknown>) : {};
    const outcome = await this.api.call("sendMessage", { ...options, chat_id: row.chatId, text: row.text });
    const now = this.clock.now();
    const ids = { outbox_id: id, chat_id: row.chatId, run_id: row.runId ?? undefined, update_id: row.updateId ?? undefined };
    if (outcome.ok) {
      this.db.update(outbox).set({ status: "sent", messageId: outcome.result.message_id, attempts: row.attempts + 1, lastError: null, updatedAt: now }).where(eq(outbox.id, id)).run();
      this.metrics?.outboxSent.inc();
      chat.ids.shift();
    } else if (outcome.code === 429) {
      // Telegram said exactly how long to wait; that is not a failed attempt.
      const waitMs = (outcome.retryAfter ?? 1) * 1000;
      chat.notBefore = Math.max(chat.notBefore, now + waitMs);
      this.db.update(outbox).set({ status: "queued", nextAttemptAt: now + waitMs, lastError: outcome.description, updatedAt: now }).where(eq(outbox.id, id)).run();
      this.metrics?.outboxRetries.inc({ reason: "429" });
      this.log.debug("outbox: rate limited by Telegram, pausing the chat", { ...ids, retry_after: outcome.retryAfter });
    } else if ((outcome.code === 0 || outcome.code >= 500) && row.attempts + 1 < this.settings.maxAttempts) {
      const attempts = row.attempts + 1;
      const backoff = Math.min(this.backoffCapMs, this.backoffBaseMs * 2 ** (attempts - 1)) * (0.5 + this.random() / 2);
      chat.notBefore = Math.max(chat.notBefore, now + backoff);
      this.db.update(outbox).set({ status: "queued", attempts, nextAttemptAt: now + backoff, lastError: outcome.description, updatedAt: now }).where(eq(outbox.id, id)).run();
      this.metrics?.outboxRetries.inc({ reason: outcome.code === 0 ? "network" : "5xx" });
      this.log.warn("outbox: send failed, will retry", { ...ids, attempts, retry_in_ms: Math.round(backoff), error: outcome.description });
    } else {
      this.db.update(outbox).set({ status: "failed", attempts: row.attempts + 1, lastError: outcome.description, updatedAt: now }).where(eq(outbox.id, id)).run();
      this.metrics?.outboxFailed.inc();
      this.log.error("outbox: message failed, not retrying", { ...ids, code: outcome.code, error: outcome.description });
      chat.ids.shift();
    }
    chat.busy = false;
    this.inFlight--;
    this.schedule();
  }

  /** Shows "typing" in a chat; not stored and never retried (it only matters now). */
  async typing(chatId: number, threadId?: number): Promise<void> {
    const outcome = await this.api.call("sendChatAction", { chat_id: chatId, action: "typing", ...(threadId ? { message_thread_id: threadId } : {}) });
    if (!outcome.ok) this.log.debug("typing indicator not shown", { chat_id: chatId, error: outcome.description });
  }

  /** Resolves when nothing is queued or in flight (tests and benchmarks). */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0 && this.chats.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Stops taking new sends; resolves when the sends in flight have been recorded. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopping = true;
    this.timer?.cancel();
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight > 0 && Date.now() < deadline) await Bun.sleep(10);
  }

  counts(): Record<OutboxStatus, number> {
    const out: Record<OutboxStatus, number> = { queued: 0, sending: 0, sent: 0, failed: 0 };
    const rows = this.db.select({ status: outbox.status, n: sql<number>`count(*)` }).from(outbox).groupBy(outbox.status).all();
    for (const row of rows) out[row.status] = row.n;
    return out;
  }

  list(filter: { status?: OutboxStatus; limit: number }): OutboxRow[] {
    return this.db
      .select()
      .from(outbox)
      .where(filter.status ? eq(outbox.status, filter.status) : undefined)
      .orderBy(desc(outbox.id))
      .limit(filter.limit)
      .all();
  }

  /** Deletes sent rows older than `olderThanMs`; failed rows are kept as long as sent ones, doubled. */
  prune(olderThanMs = 48 * 3_600_000): number {
    const now = this.clock.now();
    const sent = this.db.delete(outbox).where(and(eq(outbox.status, "sent"), lt(outbox.updatedAt, now - olderThanMs))).run() as unknown as { changes: number };
    const failed = this.db.delete(outbox).where(and(eq(outbox.status, "failed"), lt(outbox.updatedAt, now - 2 * olderThanMs))).run() as unknown as {
      changes: number;
    };
    return sent.changes + failed.changes;
  }
}


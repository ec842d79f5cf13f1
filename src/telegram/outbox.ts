import type { Statement } from "bun:sqlite";
import { and, desc, eq, lt } from "drizzle-orm";
import type { Clock } from "../clock.ts";
import type { Db } from "../db/index.ts";
import { countByStatus } from "../db/count-by-status.ts";
import { outbox, type OutboxStatus } from "../db/schema.ts";
import type { Metrics } from "../observability/metrics.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import type { ApiOutcome, TelegramApi } from "./api.ts";
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
  /** Messages a second to one chat (SEND_RATE_PER_CHAT). */
  ratePerChat: number;
  /** Messages a second overall (SEND_RATE_GLOBAL). */
  rateGlobal: number;
  /** Sends in flight at once (SEND_CONCURRENCY). */
  concurrency: number;
  /** Attempts before a message that keeps meeting 5xx or network errors fails (SEND_MAX_ATTEMPTS). */
  maxAttempts: number;
  /** First retry delay after a 5xx or network error; doubles each attempt up to backoffCapMs, with jitter. */
  backoffBaseMs?: number;
  backoffCapMs?: number;
}

export type OutboxRow = typeof outbox.$inferSelect;

/** What `Outbox.retry` did: queued the row again, or why not. */
export type OutboxRetry = { outcome: "queued"; row: OutboxRow } | { outcome: "not_found" } | { outcome: "not_failed"; status: OutboxStatus };

/** What a send needs of its row. */
interface SendRow {
  id: number;
  chat_id: number;
  text: string;
  options: string | null;
  status: OutboxStatus;
  attempts: number;
  run_id: number | null;
  update_id: number | null;
}

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
}

/** A token bucket: `rate` tokens a second, holding at most one second's worth (the largest burst). */
export class TokenBucket {
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
    this.tokens = Math.min(this.capacity, this.tokens + (Math.max(0, now - this.last) / 1000) * this.rate);
    this.last = Math.max(this.last, now);
  }
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
  nextTokenAt(now: number): number {
    this.refill(now);
    return now + Math.max(0, Math.ceil(((1 - this.tokens) / this.rate) * 1000));
  }
}

/**
 * The durable outbox. `enqueue` writes rows (inside the caller's transaction when there is one);
 * a sender delivers them in order per chat (only a chat's oldest row is ever in flight), chats
 * in parallel, within SEND_RATE_PER_CHAT, SEND_RATE_GLOBAL and SEND_CONCURRENCY, without polling
 * (it wakes on enqueue, on an answer, or on a timer set to the next due time).
 *
 * A row is marked `sending` before the call and `sent` with Telegram's message_id after the
 * answer, in a fsynced commit; a send counts as in flight until that record is committed. So
 * only a crash between an answer and its record sends a message twice, and at most
 * SEND_CONCURRENCY messages can be in that state. The `sending` marks of one tick are one
 * fsynced commit too: it puts the rows, and the run journal committed (relaxed) before them, on
 * disk before any of these messages goes out, so not even a power loss can make a replayed run
 * send one again.
 *
 * Errors: a 429 pauses the chat it came from for exactly `retry_after` seconds and does not
 * count as an attempt (Telegram's sendMessage 429 names no scope, so other chats go on; the
 * global rate is kept below Telegram's by SEND_RATE_GLOBAL instead). 5xx and network errors
 * retry with capped exponential backoff and jitter, up to SEND_MAX_ATTEMPTS. Any other error
 * (400 chat not found / message too long, 403 bot blocked, ...) fails the row at once with
 * Telegram's description. A failed row never blocks the chat's later messages.
 */
export class Outbox {
  private readonly chats = new Map<number, ChatQueue>();
  private readonly answered: Answered[] = [];
  private inFlight = 0;
  private readonly bucket: TokenBucket;
  private timer: { cancel(): void } | undefined;
  private timerAt = Infinity;
  private tickScheduled = false;
  private stopping = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private drainWaiters: (() => void)[] = [];
  private readonly intervalMs: number;
  private readonly backoffBaseMs: number;
  private readonly backoffCapMs: number;
  private readonly statements: {
    insert: Statement;
    read: Statement<SendRow, [number]>;
    markSending: Statement;
    markSent: Statement;
    markRetry: Statement;
    markFailed: Statement;
  };

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
    this.intervalMs = 1000 / settings.ratePerChat;
    this.backoffBaseMs = settings.backoffBaseMs ?? 1000;
    this.backoffCapMs = settings.backoffCapMs ?? 30_000;
    // The send path runs once or twice per message: prepared statements, not a query builder.
    const sqlite = db.$client;
    this.statements = {
      insert: sqlite.prepare(
        `INSERT INTO outbox (chat_id, text, options, status, attempts, next_attempt_at, run_id, update_id, created_at, updated_at)
         VALUES (?, ?, ?, 'queued', 0, ?, ?, ?, ?, ?) RETURNING id`,
      ),
      read: sqlite.prepare<SendRow, [number]>(`SELECT id, chat_id, text, options, status, attempts, run_id, update_id FROM outbox WHERE id = ?`),
      markSending: sqlite.prepare(`UPDATE outbox SET status = 'sending', updated_at = ? WHERE id = ?`),
      markSent: sqlite.prepare(`UPDATE outbox SET status = 'sent', message_id = ?, attempts = ?, last_error = NULL, updated_at = ? WHERE id = ?`),
      markRetry: sqlite.prepare(`UPDATE outbox SET status = 'queued', attempts = ?, next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ?`),
      markFailed: sqlite.prepare(`UPDATE outbox SET status = 'failed', attempts = ?, last_error = ?, updated_at = ? WHERE id = ?`),
    };
  }

  /** Loads what a previous process left: `sending` rows (maybe sent, maybe not) are retried, `queued` rows sent. */
  start(): void {
    const now = this.clock.now();
    const reset = this.db.update(outbox).set({ status: "queued", updatedAt: now }).where(eq(outbox.status, "sending")).run() as unknown as {
      changes: number;
    };
    if (reset.changes > 0) this.log.warn("outbox: sending again messages whose send was interrupted by a restart", { count: reset.changes });
    const rows = this.db
      .select({ id: outbox.id, chatId: outbox.chatId, nextAttemptAt: outbox.nextAttemptAt })
      .from(outbox)
      .where(eq(outbox.status, "queued"))
      .orderBy(outbox.id)
      .all();
    for (const row of rows) this.track(row.chatId, row.id, row.nextAttemptAt);
    if (rows.length > 0) this.log.info("outbox: resuming queued messages", { count: rows.length });
    this.schedule();
  }

  /**
   * Stores a message (split into parts of at most 4096 characters, one row each, in order) and
   * returns the row ids. Inside a transaction the rows commit with it; the sender only looks at
   * them once the current synchronous work (and so the transaction) is over.
   */
  enqueue(message: OutboundMessage): number[] {
    const now = this.clock.now();
    const options = message.options && Object.keys(message.options).length ? JSON.stringify(message.options) : null;
    const parts = splitText(message.text);
    const insertAll = () =>
      parts.map((part) => {
        const row = this.statements.insert.get(message.chatId, part, options, now, message.runId ?? null, message.updateId ?? null, now, now) as { id: number };
        return row.id;
      });
    // Alone, the parts still commit together (a nested call becomes a savepoint).
    const ids = parts.length > 1 ? this.db.$client.transaction(insertAll)() : insertAll();
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
    if (this.tickScheduled || this.closed) return;
    this.tickScheduled = true;
    setImmediate(() => {
      this.tickScheduled = false;
      this.tick();
    });
  }

  private tick(): void {
    if (this.closed) return;
    try {
      this.recordAnswers();
      if (!this.stopping) this.startSends();
    } catch (error) {
      // The database failed under us; try again shortly rather than stall every chat for good.
      this.log.error("outbox: could not record or start sends; retrying in 1 s", errorFields(error));
      this.sleepUntil(this.clock.now() + 1000);
    }
    if (this.inFlight === 0) for (const resolve of this.drainWaiters.splice(0)) resolve();
    if (this.inFlight === 0 && this.chats.size === 0 && this.answered.length === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Records every answer that arrived since the last tick in one fsynced commit, then frees the chats. */
  private recordAnswers(): void {
    if (this.answered.length === 0) return;
    const batch = this.answered.splice(0);
    let effects: (() => void)[];
    try {
      effects = this.db.$client.transaction(() => batch.map((answer) => this.record(answer)))();
    } catch (error) {
      this.answered.unshift(...batch);
      throw error;
    }
    for (const effect of effects) effect();
  }

  /** Writes one answer's outcome (inside recordAnswers' transaction); returns what to do in memory once committed. */
  private record({ chat, row, outcome, at }: Answered): () => void {
    const ids = { outbox_id: row.id, chat_id: row.chat_id, run_id: row.run_id ?? undefined, update_id: row.update_id ?? undefined };
    const attempts = row.attempts + 1;
    let done = true;
    let notBefore = at + this.intervalMs;
    if (outcome.ok) {
      this.statements.markSent.run(outcome.result.message_id, attempts, at, row.id);
      this.metrics?.outboxSent.inc();
    } else if (outcome.code === 429) {
      // Telegram said how long to wait; that is not a failed attempt.
      const waitMs = (outcome.retryAfter ?? 1) * 1000;
      notBefore = Math.max(notBefore, at + waitMs);
      this.statements.markRetry.run(row.attempts, at + waitMs, outcome.description, at, row.id);
      this.metrics?.outboxRetries.inc({ reason: "429" });
      this.log.debug("outbox: rate limited by Telegram, pausing the chat", { ...ids, retry_after: outcome.retryAfter });
      done = false;
    } else if ((outcome.code === 0 || outcome.code >= 500) && attempts < this.settings.maxAttempts) {
      const backoff = Math.min(this.backoffCapMs, this.backoffBaseMs * 2 ** (attempts - 1)) * (0.5 + this.random() / 2);
      notBefore = Math.max(notBefore, at + backoff);
      this.statements.markRetry.run(attempts, at + backoff, outcome.description, at, row.id);
      this.metrics?.outboxRetries.inc({ reason: outcome.code === 0 ? "network" : "5xx" });
      this.log.warn("outbox: send failed, will retry", { ...ids, attempts, retry_in_ms: Math.round(backoff), error: outcome.description });
      done = false;
    } else {
      this.statements.markFailed.run(attempts, outcome.description, at, row.id);
      this.metrics?.outboxFailed.inc();
      this.log.error("outbox: message failed, not retrying", { ...ids, code: outcome.code, attempts, error: outcome.description });
    }
    return () => {
      if (done) chat.ids.shift();
      chat.notBefore = Math.max(chat.notBefore, notBefore);
      chat.busy = false;
      this.inFlight--;
    };
  }

  /** Starts every send that is due, marking the rows `sending` first; sets a timer for the next one. */
  private startSends(): void {
    const now = this.clock.now();
    const starting: { chat: ChatQueue; row: SendRow }[] = [];
    let wakeAt = Infinity;
    for (const chat of [...this.chats.values()]) {
      if (this.inFlight + starting.length >= this.settings.concurrency) break;
      if (chat.busy) continue;
      if (chat.ids.length === 0) {
        this.chats.delete(chat.chatId);
        continue;
      }
      if (chat.notBefore > now) {
        wakeAt = Math.min(wakeAt, chat.notBefore);
        continue;
      }
      const row = this.headRow(chat);
      if (!row) {
        this.chats.delete(chat.chatId);
        continue;
      }
      if (!this.bucket.take(now)) {
        wakeAt = Math.min(wakeAt, this.bucket.nextTokenAt(now));
        break;
      }
      chat.busy = true;
      starting.push({ chat, row });
      // Move the chat to the back so chats take turns.
      this.chats.delete(chat.chatId);
      this.chats.set(chat.chatId, chat);
    }
    if (starting.length > 0) {
      try {
        // FULL (the connection's default): durable before the sends, see the class comment.
        this.db.$client.transaction(() => {
          for (const { row } of starting) this.statements.markSending.run(now, row.id);
        })();
      } catch (error) {
        // Nothing was marked (disk full, read-only): free the chats so the retry tick can start them.
        for (const { chat } of starting) chat.busy = false;
        throw error;
      }
      this.inFlight += starting.length;
      for (const { chat, row } of starting) void this.send(chat, row);
    }
    this.sleepUntil(wakeAt);
  }

  /** The chat's oldest row still to send; drops ids whose rows are gone, done, or not this chat's. */
  private headRow(chat: ChatQueue): SendRow | undefined {
    while (chat.ids.length > 0) {
      const row = this.statements.read.get(chat.ids[0]!);
      // A rolled-back enqueue leaves an id behind, and SQLite may give that id to another row.
      if (row && row.chat_id === chat.chatId && (row.status === "queued" || row.status === "sending")) return row;
      chat.ids.shift();
    }
    return undefined;
  }

  private async send(chat: ChatQueue, row: SendRow): Promise<void> {
    let outcome: ApiOutcome<{ message_id: number }>;
    try {
      const options = row.options ? (JSON.parse(row.options) as Record<string, unknown>) : {};
      outcome = await this.api.call("sendMessage", { ...options, chat_id: row.chat_id, text: row.text });
    } catch (error) {
      outcome = { ok: false, code: 400, description: `timbre could not send this row: ${errorFields(error).error}` };
    }
    this.answered.push({ chat, row, outcome, at: this.clock.now() });
    this.schedule();
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

  /** Shows "typing" in a chat; not stored and never retried (it only matters now). */
  async typing(chatId: number, threadId?: number): Promise<void> {
    const outcome = await this.api.call("sendChatAction", { chat_id: chatId, action: "typing", ...(threadId ? { message_thread_id: threadId } : {}) });
    if (!outcome.ok) this.log.debug("typing indicator not shown", { chat_id: chatId, error: outcome.description });
  }

  /** Resolves when nothing is queued or in flight (tests and benchmarks). */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0 && this.chats.size === 0 && this.answered.length === 0) return Promise.resolve();
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
    if (this.inFlight > 0) {
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

  counts(): Record<OutboxStatus, number> {
    return countByStatus(this.db, outbox, outbox.status, { queued: 0, sending: 0, sent: 0, failed: 0 });
  }

  /** Rows newest first; `beforeId` pages back from there. */
  list(filter: { status?: OutboxStatus; limit: number; beforeId?: number }): OutboxRow[] {
    const conditions = [filter.status ? eq(outbox.status, filter.status) : undefined, filter.beforeId !== undefined ? lt(outbox.id, filter.beforeId) : undefined].filter(
      (c) => c !== undefined,
    );
    return this.db
      .select()
      .from(outbox)
      .where(conditions.length ? and(...conditions) : undefined)
      .orderBy(desc(outbox.id))
      .limit(filter.limit)
      .all();
  }

  /** Every row a run led to (its replies, questions and timbre's notices), oldest first (admin: a run's journal). */
  ofRun(runId: number): OutboxRow[] {
    return this.db.select().from(outbox).where(eq(outbox.runId, runId)).orderBy(outbox.id).all();
  }

  /**
   * Puts a failed message back in its chat's queue (the admin retry): `queued` again with its
   * attempts reset, sent after whatever that chat already has queued, with the same per-chat
   * spacing and global rate as any message. `last_error` stays until it is sent. After a restart
   * before it is sent, queued rows resume in id order, so it then goes in its first place.
   */
  retry(id: number): OutboxRetry {
    const now = this.clock.now();
    const [row] = this.db
      .update(outbox)
      .set({ status: "queued", attempts: 0, nextAttemptAt: now, updatedAt: now })
      .where(and(eq(outbox.id, id), eq(outbox.status, "failed")))
      .returning()
      .all();
    if (!row) {
      const current = this.db.select({ status: outbox.status }).from(outbox).where(eq(outbox.id, id)).get();
      return current ? { outcome: "not_failed", status: current.status } : { outcome: "not_found" };
    }
    this.track(row.chatId, row.id, now);
    this.schedule();
    return { outcome: "queued", row };
  }

  /** Deletes sent rows older than `olderThanMs`; failed rows are kept twice as long. */
  prune(olderThanMs = 48 * 3_600_000): number {
    const now = this.clock.now();
    const sent = this.db.delete(outbox).where(and(eq(outbox.status, "sent"), lt(outbox.updatedAt, now - olderThanMs))).run() as unknown as { changes: number };
    const failed = this.db.delete(outbox).where(and(eq(outbox.status, "failed"), lt(outbox.updatedAt, now - 2 * olderThanMs))).run() as unknown as {
      changes: number;
    };
    return sent.changes + failed.changes;
  }
}

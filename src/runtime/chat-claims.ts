import type { Sql } from "postgres";
import type { Clock } from "../clock.ts";
import type { Wakeups } from "../db/pg/wakeups.ts";
import type { PgInbox } from "../ingest/pg-inbox.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import type { Outbox } from "../telegram/outbox.ts";
import type { PgOutboxRows } from "../telegram/outbox-rows.ts";
import type { Dispatcher } from "./dispatcher.ts";
import { chatLease, type LeasedChats } from "./leased-chats.ts";
import type { PgRunReads } from "./run-reads.ts";
import type { Runtime } from "./runs.ts";

/** The NOTIFY channel that names chats with new updates (docs/several-instances.md). */
export const CHATS_CHANNEL = "timbre_chats";
/** How often an instance looks for chats with work and no owner (the backstop of NOTIFY). */
export const SCAN_MS = 1_000;
/** A chat is let go once idle here this long after it was taken. */
const KEEP_IDLE_MS = 2_000;
const SCAN_LIMIT = 1_000;

export interface ChatClaimsDeps {
  sql: Sql;
  chats: LeasedChats;
  wakeups: Wakeups;
  inbox: PgInbox;
  dispatcher: Dispatcher;
  runtime: Runtime<PgRunReads>;
  outbox: Outbox<PgOutboxRows>;
  holder: string;
  clock: Clock;
  log: Logger;
}

const keyOf = (chatId: number | null) => (chatId === null ? "none" : String(chatId));
const chatOfKey = (key: string): number | null | undefined => (key === "none" ? null : Number.isSafeInteger(Number(key)) ? Number(key) : undefined);

/**
 * How an instance finds its work on PostgreSQL: it takes the lease of every chat that has work
 * (received updates, a run left running, a deadline passed: a question's, a sleep's or a step
 * backoff's; messages to send, queued updates) and
 * no live owner, when it stores an update itself, when another instance names the chat (NOTIFY),
 * and every SCAN_MS as the backstop. A chat taken over resumes as after a restart; a chat idle
 * here is let go, so a waiting run needs no owner until its answer or its timer.
 */
export class ChatClaims {
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly takenAt = new Map<number | null, number>();
  private readonly adopting = new Set<number | null>();
  /** Owned chats whose received updates are to be read (see refresh), and whether a read is in flight. */
  private readonly toRefresh = new Set<number | null>();
  private refreshing = false;
  /** Chats whose updates this instance stored while adopting them: loaded once more after. */
  private readonly storedWhileAdopting = new Set<number | null>();
  private scanning: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly deps: ChatClaimsDeps) {}

  async start(): Promise<void> {
    const { wakeups, dispatcher } = this.deps;
    dispatcher.follow((stored) => this.stored(stored));
    await wakeups.listen(CHATS_CHANNEL, (keys) => this.named(keys), () => void this.scan());
    this.timer = setInterval(() => void this.scan(), SCAN_MS);
    await this.scan();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.scanning;
  }

  /** Chats taken over: their work loads and resumes, oldest first. */
  async adopt(chatIds: (number | null)[]): Promise<void> {
    const { inbox, dispatcher, runtime, outbox, clock, log } = this.deps;
    // A claim that was in flight when the instance began to stop: the chats go to the others at once.
    if (this.stopped) {
      await this.deps.chats.release(chatIds).catch(() => {});
      return;
    }
    for (const chatId of chatIds) {
      this.takenAt.set(chatId, clock.now());
      this.adopting.add(chatId);
      try {
        if (chatId !== null) await outbox.adopt(chatId);
        if (chatId !== null) await runtime.adopt(chatId);
        do {
          this.storedWhileAdopting.delete(chatId);
          dispatcher.enqueue(await inbox.loadReceivedOfChats([chatId], dispatcher.handedOver(chatId)));
        } while (this.storedWhileAdopting.has(chatId));
      } catch (error) {
        log.error("instances: could not resume a chat taken over; letting it go", { chat_id: chatId, ...errorFields(error) });
        await this.deps.chats.release([chatId]).catch(() => {});
      } finally {
        this.adopting.delete(chatId);
      }
    }
  }

  /** Chats another instance took over: stop at once. */
  drop(chatIds: (number | null)[]): void {
    for (const chatId of chatIds) {
      this.takenAt.delete(chatId);
      if (chatId === null) continue;
      this.deps.runtime.drop(chatId);
      this.deps.outbox.drop(chatId);
    }
    this.deps.log.warn("instances: chats passed to another instance", { chats: chatIds.length });
  }

  /**
   * Updates this instance stored: routed here if the chat is ours, else its owner is told, or it
   * is taken. Ours are read back from the database with the chat's whole backlog, never handed
   * over from memory: an earlier update another instance stored may not have reached us yet, and
   * the database has it in update_id order.
   */
  private stored(stored: { chatId: number | null }[]): void {
    if (this.stopped) return;
    const { chats, wakeups } = this.deps;
    const others = new Set<number | null>();
    for (const chatId of new Set(stored.map((update) => update.chatId))) {
      if (chats.owns(chatId)) this.refresh(chatId);
      else others.add(chatId);
    }
    if (others.size === 0) return;
    void chats
      .claim(others)
      .then((acquired) => {
        for (const chatId of others) if (!acquired.includes(chatId) && !chats.owns(chatId)) wakeups.hint(CHATS_CHANNEL, keyOf(chatId));
      })
      .catch((error: unknown) => this.deps.log.warn("instances: could not take chats; the next scan tries again", errorFields(error)));
  }

  /** Another instance stored updates for these chats. */
  private named(keys: string[]): void {
    // Stopping: no more chats taken (NOTIFY still arrives until the wakeups close).
    if (this.stopped) return;
    const unowned: (number | null)[] = [];
    for (const key of keys) {
      const chatId = chatOfKey(key);
      if (chatId === undefined) continue;
      if (this.deps.chats.owns(chatId)) this.refresh(chatId);
      else unowned.push(chatId);
    }
    if (unowned.length > 0) void this.deps.chats.claim(unowned).catch(() => {});
  }

  /**
   * Hands the dispatcher an owned chat's received updates, read from the database in update_id
   * order. One read at a time, for every chat asked for since the last one (a stored batch names
   * many chats: one query, not one per chat), leaving out the updates the dispatcher has; routing
   * skips those routed since.
   */
  private refresh(chatId: number | null): void {
    if (this.adopting.has(chatId)) {
      this.storedWhileAdopting.add(chatId);
      return;
    }
    this.toRefresh.add(chatId);
    if (!this.refreshing) void this.refreshAll();
  }

  private async refreshAll(): Promise<void> {
    const { dispatcher, inbox, log } = this.deps;
    this.refreshing = true;
    try {
      while (this.toRefresh.size > 0) {
        const chats = [...this.toRefresh];
        this.toRefresh.clear();
        dispatcher.enqueue(await inbox.loadReceivedOfChats(chats, chats.flatMap((chatId) => dispatcher.handedOver(chatId))));
      }
    } catch (error) {
      this.toRefresh.clear();
      log.warn("instances: could not load the chats' updates; the next scan tries again", errorFields(error));
    } finally {
      this.refreshing = false;
    }
  }

  /** Takes chats with work and no live owner, routes what our own chats have waiting, lets idle chats go. */
  private scan(): Promise<void> {
    if (this.stopped || this.scanning) return this.scanning ?? Promise.resolve();
    this.scanning = this.scanOnce()
      .catch((error: unknown) => this.deps.log.warn("instances: the scan for chats with work failed; trying again", errorFields(error)))
      .finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    const { sql, chats, holder, clock } = this.deps;
    const now = clock.now();
    const rows = await sql<{ chatId: number | null }[]>`
      SELECT w.chat_id AS "chatId" FROM (
        SELECT chat_id FROM updates WHERE status = 'received'
        UNION SELECT chat_id FROM runs WHERE status = 'running'
        UNION SELECT r.chat_id FROM run_steps s JOIN runs r ON r.id = s.run_id
          WHERE s.state IN ('waiting', 'retrying') AND s.deadline_at <= ${now} AND (s.state = 'waiting' OR r.status = 'waiting')
        UNION SELECT chat_id FROM outbox WHERE status IN ('queued', 'sending')
        UNION SELECT u.chat_id FROM parked_updates p JOIN updates u ON u.update_id = p.update_id
      ) w
      LEFT JOIN leases l ON l.name = 'chat:' || coalesce(w.chat_id::text, 'none') AND l.expires_at > ${now}
      WHERE l.holder IS NULL OR l.holder = ${holder}
      -- Chats no one holds first: with more than SCAN_LIMIT of our own busy, a dead instance's still come in.
      ORDER BY l.holder IS NOT NULL
      LIMIT ${SCAN_LIMIT}`;
    const withWork = rows.map((row) => row.chatId);
    const owned = withWork.filter((chatId) => chats.owns(chatId));
    // Ours already, with updates maybe missed (a lost NOTIFY): the dispatcher skips those it has.
    this.named(owned.map(keyOf));
    await chats.claim(withWork.filter((chatId) => !chats.owns(chatId)));
    await this.releaseIdle(new Set(withWork), now);
  }

  private async releaseIdle(withWork: Set<number | null>, now: number): Promise<void> {
    const { chats, dispatcher, runtime, outbox } = this.deps;
    const idle: (number | null)[] = [];
    for (const [chatId, takenAt] of this.takenAt) {
      if (now - takenAt < KEEP_IDLE_MS || this.adopting.has(chatId) || withWork.has(chatId)) continue;
      if (dispatcher.hasWork(chatId) || (chatId !== null && (runtime.hasWork(chatId) || outbox.hasWork(chatId)))) continue;
      idle.push(chatId);
    }
    if (idle.length === 0) return;
    for (const chatId of idle) this.takenAt.delete(chatId);
    await chats.release(idle);
  }
}

export { chatLease };

import { isTransientStorageError } from "../db/storage-error.ts";
import type { StoredUpdate } from "../ingest/inbox.ts";
import type { UpdateRow } from "../ingest/inbox-store.ts";
import type { UpdateStatus } from "../db/schema.ts";
import { errorFields, thrownMessage, type Logger } from "../observability/log.ts";
import type { Metrics } from "../observability/metrics.ts";

/** How long a chat waits before retrying an update the database could not take. */
const STORAGE_RETRY_MS = 1_000;

/** A chat's lane; updates with no chat share one. */
const laneOf = (chatId: number | null): string => String(chatId ?? "none");

/**
 * Waits for `waited` without taking one of the dispatcher's `concurrency` places meanwhile: the
 * chat's lane stays held (its later updates still wait), other chats go on.
 */
export type Aside = <T>(waited: Promise<T>) => Promise<T>;

export type UpdateHandler = (update: StoredUpdate, aside: Aside) => void | Promise<void>;

/** What the dispatcher needs of the inbox, on either engine (SQLite's answers at once). */
export interface DispatchInbox {
  loadReceived(limit: number, afterUpdateId?: number): StoredUpdate[] | Promise<StoredUpdate[]>;
  onStored(listener: (stored: StoredUpdate[]) => void): void;
  setStatus(updateIds: number, status: UpdateStatus, error: string | null): void | Promise<void>;
  row(updateId: number): UpdateRow | undefined | Promise<UpdateRow | undefined>;
}

/**
 * Hands stored updates to the handler in update_id order, one at a time per chat, up to
 * `concurrency` chats at once. A handler that throws marks its update failed; the chat
 * goes on with its next update and other chats never notice.
 */
export class Dispatcher {
  /** Updates waiting per chat, oldest first. */
  private readonly lanes = new Map<string, StoredUpdate[]>();
  private readonly ready: string[] = [];
  private readonly known = new Set<number>();
  private active = 0;
  /** Handlers waiting aside (see Aside): not counted in `active`, still not done. */
  private waitingAside = 0;
  private stopped = false;
  /** Started, with what was stored before loaded, and not stopped. */
  private following = false;
  private readonly idle: (() => void)[] = [];

  constructor(
    private readonly inbox: DispatchInbox,
    private readonly handler: UpdateHandler,
    private readonly concurrency: number,
    private readonly log: Logger,
    private readonly metrics?: Metrics,
  ) {}

  /**
   * Picks up updates a previous process stored but did not hand over, then follows the inbox.
   * Updates stored while the pages load (PostgreSQL's load is asynchronous) wait until after them.
   */
  async start(): Promise<void> {
    let loading = true;
    const meanwhile: StoredUpdate[][] = [];
    this.inbox.onStored((stored) => (loading ? meanwhile.push(stored) : this.enqueue(stored)));
    let after = -1;
    for (;;) {
      const loaded = this.inbox.loadReceived(1000, after);
      const page = loaded instanceof Promise ? await loaded : loaded;
      if (page.length === 0) break;
      this.enqueue(page);
      after = page.at(-1)!.updateId;
    }
    if (this.known.size > 0) this.log.info("dispatcher: picking up stored updates", { count: this.known.size });
    loading = false;
    for (const stored of meanwhile) this.enqueue(stored);
    this.following = !this.stopped;
  }

  /**
   * True when an update of this chat may be handled without the dispatcher (answered on arrival):
   * it follows the inbox, and holds no update of the chat that would have to go first.
   */
  isIdleFor(chatId: number): boolean {
    return this.following && !this.lanes.has(laneOf(chatId));
  }

  enqueue(updates: StoredUpdate[]): void {
    // Once stopped, updates stay `received` in the database and are picked up on the next start.
    if (this.stopped) return;
    for (const update of updates) {
      if (this.known.has(update.updateId)) continue;
      this.known.add(update.updateId);
      const key = laneOf(update.chatId);
      let lane = this.lanes.get(key);
      if (!lane) {
        lane = [];
        this.lanes.set(key, lane);
        this.ready.push(key);
      }
      lane.push(update);
    }
    this.pump();
  }

  private pump(): void {
    while (!this.stopped && this.active < this.concurrency && this.ready.length > 0) {
      const key = this.ready.shift()!;
      this.active++;
      void this.drain(key);
    }
    if (this.isIdle()) for (const resolve of this.idle.splice(0)) resolve();
  }

  private isIdle(): boolean {
    return this.active === 0 && this.waitingAside === 0 && this.ready.length === 0;
  }

  private readonly aside: Aside = async (waited) => {
    this.active--;
    this.waitingAside++;
    this.pump();
    try {
      return await waited;
    } finally {
      this.waitingAside--;
      this.active++;
    }
  };

  /** Runs one chat's updates in order until its lane is empty. */
  private async drain(key: string): Promise<void> {
    const lane = this.lanes.get(key)!;
    while (lane.length > 0 && !this.stopped) {
      const update = lane[0]!;
      try {
        await this.handler(update, this.aside);
      } catch (error) {
        if (isTransientStorageError(error) && !this.stopped) {
          const ids = { update_id: update.updateId, chat_id: update.chatId, ...errorFields(error) };
          if (await this.stillReceived(update.updateId)) {
            // The database failed (disk full, read-only), not the update: nothing of it was
            // committed, so the chat waits and tries the same update again, keeping its order.
            this.log.warn("dispatcher: the database failed while routing an update; trying it again shortly", { ...ids, retry_in_ms: STORAGE_RETRY_MS });
            await Bun.sleep(STORAGE_RETRY_MS);
            continue;
          }
          // Its routing was committed before the database failed: it is not the update's fault.
          this.log.warn("dispatcher: the database failed after an update was routed", ids);
          lane.shift();
          this.known.delete(update.updateId);
          continue;
        }
        this.log.error("update failed", { update_id: update.updateId, chat_id: update.chatId, ...errorFields(error) });
        try {
          await this.inbox.setStatus(update.updateId, "failed", thrownMessage(error));
          this.metrics?.updatesFailed.inc();
        } catch (markError) {
          this.log.error("could not mark update failed", { update_id: update.updateId, chat_id: update.chatId, ...errorFields(markError) });
        }
      }
      lane.shift();
      this.known.delete(update.updateId);
    }
    if (lane.length === 0) this.lanes.delete(key);
    else this.ready.push(key);
    this.active--;
    this.pump();
  }

  /** True while the update is stored and not yet handed over (reads work when writes fail; unsure counts as yes). */
  private async stillReceived(updateId: number): Promise<boolean> {
    try {
      return (await this.inbox.row(updateId))?.status === "received";
    } catch {
      return true;
    }
  }

  /** The ids of the chat's updates handed over and not yet handled, oldest first. */
  handedOver(chatId: number | null): number[] {
    return (this.lanes.get(laneOf(chatId)) ?? []).map((update) => update.updateId);
  }

  /** True while the chat has updates handed over and not yet handled. */
  hasWork(chatId: number | null): boolean {
    return this.lanes.has(laneOf(chatId));
  }

  /** Follows the inbox without loading what is stored (PostgreSQL: each chat's updates load when it is taken over). */
  follow(onStored: (stored: StoredUpdate[]) => void = (stored) => this.enqueue(stored)): void {
    this.inbox.onStored(onStored);
  }

  /** Resolves when every handed-over update has been handled (tests, benchmarks, shutdown). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Stops taking updates; those not started stay `received` and are picked up on the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.following = false;
    const deadline = Date.now() + 10_000;
    while (this.active + this.waitingAside > 0 && Date.now() < deadline) await Bun.sleep(5);
  }
}

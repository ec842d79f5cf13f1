import type { Clock } from "../clock.ts";
import type { Db } from "../db/index.ts";
import { getSetting, setSetting } from "../db/settings.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { ApiOutcome, TelegramApi } from "../telegram/api.ts";
import { deleteWebhook, getWebhookInfo } from "../telegram/webhook-control.ts";
import type { IncomingUpdate, Inbox } from "./inbox.ts";
import { asUpdate } from "./update-shape.ts";

/** Settings key of the next update_id to ask for: always the last stored update + 1. */
export const POLL_OFFSET_KEY = "poll_offset";

export interface PollerTiming {
  /** getUpdates `timeout`: how long Telegram holds the request open when there is nothing new. */
  longPollSeconds: number;
  /** getUpdates `limit` (Telegram allows 1-100). */
  batchLimit: number;
  /** Network errors and 5xx: the first retry waits about this long, doubling up to the cap. */
  backoffBaseMs: number;
  backoffCapMs: number;
  /** 409 Conflict and other refusals: retry this slowly (another instance may hold the updates for long). */
  slowRetryMs: number;
  /**
   * An empty answer sooner than this (a server that ignores `timeout`) is followed by a pause
   * this long, so such a server never makes timbre spin.
   */
  emptyAnswerPauseMs: number;
}

export const DEFAULT_POLLER_TIMING: PollerTiming = {
  longPollSeconds: 25,
  batchLimit: 100,
  backoffBaseMs: 500,
  backoffCapMs: 30_000,
  slowRetryMs: 7_500,
  emptyAnswerPauseMs: 1_000,
};

export type PollerState = "starting" | "polling" | "retrying" | "conflict" | "unauthorized" | "stopped";

export interface PollerDeps {
  /** A TelegramApi of the poller's own: stop() aborts it, which must not cut the outbox's sends. */
  api: TelegramApi;
  inbox: Inbox;
  db: Db;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
}

export interface PollerOptions {
  allowedUpdates: string[];
  timing?: Partial<PollerTiming>;
  /** Jitter source (tests make it repeatable). */
  random?: () => number;
}

/**
 * BOT_MODE=polling: removes a webhook (keeping pending updates), then long-polls getUpdates.
 * Each batch and the next offset are committed in one transaction before the next getUpdates
 * confirms the batch to Telegram, so a crash at any point neither loses nor repeats an update.
 */
export class Poller {
  state: PollerState = "starting";
  private readonly timing: PollerTiming;
  private readonly random: () => number;
  private offset: number | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Consecutive failed calls to Telegram, and consecutive batches the database could not store. */
  private failures = 0;
  private storeFailures = 0;
  private inConflict = false;

  constructor(
    private readonly deps: PollerDeps,
    private readonly options: PollerOptions,
  ) {
    this.timing = { ...DEFAULT_POLLER_TIMING, ...options.timing };
    this.random = options.random ?? Math.random;
  }

  start(): void {
    this.loop ??= this.run().catch((error) => {
      this.state = "stopped";
      this.deps.log.error("polling: stopped by an unexpected error; restart timbre", errorFields(error));
    });
  }

  /** Ends the long poll at once (not after its 25 s) and waits for the loop to leave. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    this.deps.api.abortAll();
    await this.loop;
    this.state = "stopped";
  }

  private async run(): Promise<void> {
    const { db, log, api } = this.deps;
    const stored = getSetting(db, POLL_OFFSET_KEY);
    this.offset = stored === undefined ? undefined : Number(stored);
    if (!(await this.removeWebhook())) return;
    this.state = "polling";
    log.info("polling: long-polling getUpdates", { offset: this.offset ?? null, timeout_s: this.timing.longPollSeconds });
    let spinWarned = false;
    while (!this.stopped) {
      const askedAt = this.deps.clock.now();
      const outcome = await api.call(
        "getUpdates",
        {
          ...(this.offset !== undefined ? { offset: this.offset } : {}),
          limit: this.timing.batchLimit,
          timeout: this.timing.longPollSeconds,
          allowed_updates: this.options.allowedUpdates as never,
        },
        // The request legitimately stays open for the long poll; allow that on top of the usual timeout.
        (this.timing.longPollSeconds + 5) * 1000,
      );
      if (outcome.ok) {
        this.recovered();
        if (outcome.result.length > 0) await this.storeBatch(outcome.result as unknown[]);
        else if (this.deps.clock.now() - askedAt < this.timing.emptyAnswerPauseMs && !this.stopped) {
          if (!spinWarned) log.warn("polling: getUpdates answered at once with nothing (the server ignores timeout); pausing between calls", { pause_ms: this.timing.emptyAnswerPauseMs });
          spinWarned = true;
          await this.sleep(this.timing.emptyAnswerPauseMs);
        }
        continue;
      }
      if (this.stopped) return;
      if (!(await this.afterFailure(outcome, "getUpdates"))) return;
    }
  }

  /** getWebhookInfo, and deleteWebhook when one is set; false when polling must not go on. */
  private async removeWebhook(): Promise<boolean> {
    const { api, log } = this.deps;
    while (!this.stopped) {
      const info = await getWebhookInfo(api);
      if (this.stopped) return false;
      if (!info.ok) {
        if (info.code === 401 || isRetryableCode(info.code)) {
          if (!(await this.afterFailure(info, "getWebhookInfo"))) return false;
          continue;
        }
        log.warn("polling: could not read the webhook info; polling anyway", { code: info.code, error: info.description });
        return true;
      }
      this.recovered();
      if (info.result.url === "") return true;
      const deleted = await deleteWebhook(api, false);
      if (this.stopped) return false;
      if (deleted.ok) {
        log.info("polling mode: deleted the webhook so getUpdates can work (pending updates kept)", {
          url: info.result.url,
          pending_update_count: info.result.pending_update_count,
        });
        return true;
      }
      if (!(await this.afterFailure(deleted, "deleteWebhook"))) return false;
    }
    return false;
  }

  private async storeBatch(items: unknown[]): Promise<void> {
    const { inbox, db, log, metrics } = this.deps;
    const batch: IncomingUpdate[] = [];
    let lastId = -1;
    for (const item of items) {
      const id = (item as { update_id?: unknown } | null)?.update_id;
      if (typeof id === "number" && Number.isSafeInteger(id)) lastId = Math.max(lastId, id);
      const update = asUpdate(item);
      if (!update) {
        log.warn("polling: skipped an item of getUpdates that is not a valid Update", { update_id: typeof id === "number" ? id : null });
        continue;
      }
      // GramIO parsed the body; JSON.stringify keeps every field (unknown ones too) in Telegram's order.
      batch.push({ update, raw: JSON.stringify(update) });
    }
    if (lastId < 0) {
      log.error("polling: getUpdates answered items without any update_id; retrying", { items: items.length });
      await this.sleep(this.timing.slowRetryMs);
      return;
    }
    const next = Math.max(lastId + 1, this.offset ?? 0);
    try {
      const results = inbox.storeMany(batch, () => setSetting(db, POLL_OFFSET_KEY, String(next)));
      this.offset = next;
      this.storeFailures = 0;
      for (const result of results) (result.duplicate ? metrics.updatesDuplicate : metrics.updatesReceived).inc();
      log.debug("polling: stored a batch", { count: batch.length, offset: next });
    } catch (error) {
      // Nothing was committed, so the offset did not move: Telegram hands the same batch over again.
      this.storeFailures++;
      const delay = this.backoffDelay(this.storeFailures);
      log.error("polling: could not store a batch; asking for it again", { count: batch.length, retry_in_ms: Math.round(delay), ...errorFields(error) });
      await this.sleep(delay);
    }
  }

  /** Waits as the failure deserves; false when polling must stop (401, or stopping). */
  private async afterFailure(outcome: Extract<ApiOutcome<unknown>, { ok: false }>, method: string): Promise<boolean> {
    const { log } = this.deps;
    if (this.stopped) return false;
    if (outcome.code === 401) {
      this.state = "unauthorized";
      log.error(
        "polling stopped: Telegram refused the bot token (401 Unauthorized). Check TELEGRAM_BOT_TOKEN (from @BotFather) and restart timbre; health, metrics and admin keep serving",
        { method, error: outcome.description },
      );
      return false;
    }
    if (outcome.code === 409) {
      if (!this.inConflict) {
        log.warn(
          "polling: Telegram answered 409 Conflict: another instance is calling getUpdates with this token, or a webhook is set. Stop the other instance or delete the webhook (timbre webhook delete); retrying slowly",
          { method, error: outcome.description, retry_every_ms: this.timing.slowRetryMs },
        );
      }
      this.inConflict = true;
      this.state = "conflict";
      await this.sleep(this.timing.slowRetryMs * (0.75 + this.random() * 0.5));
      return !this.stopped;
    }
    this.state = "retrying";
    if (outcome.code === 429) {
      const delay = outcome.retryAfter !== undefined ? outcome.retryAfter * 1000 : this.timing.slowRetryMs;
      log.warn("polling: Telegram asks to slow down (429)", { method, retry_in_ms: delay });
      await this.sleep(delay);
      return !this.stopped;
    }
    if (isRetryableCode(outcome.code)) {
      this.failures++;
      const delay = this.backoffDelay(this.failures);
      log.warn("polling: Telegram unreachable or failing; backing off", {
        method,
        code: outcome.code,
        error: outcome.description,
        attempt: this.failures,
        retry_in_ms: Math.round(delay),
      });
      await this.sleep(delay);
      return !this.stopped;
    }
    log.error("polling: Telegram refused the call; retrying slowly", { method, code: outcome.code, error: outcome.description });
    await this.sleep(this.timing.slowRetryMs);
    return !this.stopped;
  }

  private recovered(): void {
    if (this.inConflict) this.deps.log.info("polling: the conflict is over; taking updates again");
    else if (this.failures > 0) this.deps.log.info("polling: Telegram answers again", { failed_attempts: this.failures });
    this.inConflict = false;
    this.failures = 0;
    this.state = "polling";
  }

  /** Capped exponential backoff with jitter: between half and all of min(cap, base * 2^(n-1)). */
  private backoffDelay(attempt: number): number {
    const ceiling = Math.min(this.timing.backoffCapMs, this.timing.backoffBaseMs * 2 ** Math.min(attempt - 1, 30));
    return ceiling / 2 + (this.random() * ceiling) / 2;
  }

  /** A wait that stop() cuts short. */
  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: { cancel(): void } | undefined;
      const done = () => {
        timer?.cancel();
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      this.wake = done;
      timer = this.deps.clock.setTimeout(done, ms);
    });
  }
}

function isRetryableCode(code: number): boolean {
  return code === 0 || code === 429 || code >= 500;
}

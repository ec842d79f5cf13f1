import type { Clock } from "../clock.ts";
import { runEither } from "../db/op.ts";
import type { SettingsStore } from "../db/settings.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { ApiFailure, TelegramApi } from "../telegram/api.ts";
import { deleteWebhook, getWebhookInfo } from "../telegram/webhook-control.ts";
import { isRetryableCode, PollFailures, type BackoffTiming } from "./poll-failures.ts";
import { readPolledBatch, type PollInbox } from "./poll-inbox.ts";
import { SOLE_POLLER, type PollLeader, type PollTerm } from "./poll-leadership.ts";

/** Settings key of the next update_id to ask for: always the last stored update + 1. */
export const POLL_OFFSET_KEY = "poll_offset";

export interface PollerTiming extends BackoffTiming {
  /** getUpdates `timeout`: how long Telegram holds the request open when there is nothing new. */
  longPollSeconds: number;
  /** getUpdates `limit` (Telegram allows 1-100). */
  batchLimit: number;
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

/** standby: another instance holds the poller lease and polls; this one waits to take over. */
export type PollerState = "standby" | "starting" | "polling" | "retrying" | "conflict" | "unauthorized" | "stopped";

export interface PollerDeps {
  /** A TelegramApi of the poller's own: stop() aborts it, which must not cut the outbox's sends. */
  api: TelegramApi;
  /** sqlitePollInbox(inbox) or pgPollInbox(pgInbox). */
  inbox: PollInbox;
  /** Where the offset is kept: sqliteSettings(db) or pgSettings(session). */
  settings: SettingsStore;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** Several instances (PostgreSQL): a PollLeadership, so only the poller lease's holder polls. Default: always the leader. */
  leadership?: PollLeader;
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
 * With a leadership it polls only during its terms as leader, reading the offset afresh at the
 * start of each, and each batch's transaction is fenced by the term.
 */
export class Poller {
  state: PollerState = "starting";
  private readonly deps: Required<PollerDeps>;
  private readonly timing: PollerTiming;
  private readonly failures: PollFailures;
  private offset: number | undefined;
  private stopped = false;
  private readonly stopping = new AbortController();
  /** The term being polled; its end (a lost lease) ends the long poll and every wait at once. */
  private term: PollTerm | undefined;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Consecutive batches the database could not store. */
  private storeFailures = 0;

  constructor(
    deps: PollerDeps,
    private readonly options: PollerOptions,
  ) {
    this.deps = { leadership: SOLE_POLLER, ...deps };
    this.timing = { ...DEFAULT_POLLER_TIMING, ...options.timing };
    this.failures = new PollFailures(this.timing, this.deps.log, options.random ?? Math.random);
  }

  start(): void {
    this.loop ??= this.run().catch((error) => {
      this.state = "stopped";
      this.deps.log.error("polling: stopped by an unexpected error; restart timbre", errorFields(error));
      // Not polling any more: another instance may.
      return this.deps.leadership.stop();
    });
  }

  /** Ends the long poll at once (not after its 25 s), waits for the loop to leave, then lets the lease go. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    this.wake?.();
    this.deps.api.abortAll();
    await this.loop;
    await this.deps.leadership.stop();
    this.state = "stopped";
  }

  /** Stopping, or the term is over: every loop and wait leaves. */
  private get ending(): boolean {
    return this.stopped || (this.term?.signal.aborted ?? false);
  }

  private async run(): Promise<void> {
    const { leadership } = this.deps;
    while (!this.stopped) {
      this.state = "standby";
      const term = await leadership.lead(this.stopping.signal);
      if (!term) return;
      this.term = term;
      const wakeAtEnd = () => this.wake?.();
      term.signal.addEventListener("abort", wakeAtEnd, { once: true });
      let ended: "ended" | "unauthorized";
      try {
        ended = await this.pollDuring(term);
      } finally {
        term.signal.removeEventListener("abort", wakeAtEnd);
      }
      if (this.stopped) return;
      await leadership.resign(term);
      // A token Telegram refuses is refused for every instance: the lease goes, polling stops for good.
      if (ended === "unauthorized") return;
    }
  }

  /** Polls until the term ends (or stop); "unauthorized" when Telegram refused the token. */
  private async pollDuring(term: PollTerm): Promise<"ended" | "unauthorized"> {
    const { log, api } = this.deps;
    this.state = "starting";
    if (!(await this.readOffset())) return "ended";
    if (!(await this.removeWebhook())) return this.endedAs();
    this.state = "polling";
    log.info("polling: long-polling getUpdates", { offset: this.offset ?? null, timeout_s: this.timing.longPollSeconds });
    let spinWarned = false;
    while (!this.ending) {
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
        term.signal,
      );
      if (outcome.ok) {
        this.recovered();
        if (outcome.result.length > 0) await this.storeBatch(outcome.result as unknown[], term);
        else if (this.deps.clock.now() - askedAt < this.timing.emptyAnswerPauseMs && !this.ending) {
          if (!spinWarned) log.warn("polling: getUpdates answered at once with nothing (the server ignores timeout); pausing between calls", { pause_ms: this.timing.emptyAnswerPauseMs });
          spinWarned = true;
          await this.sleep(this.timing.emptyAnswerPauseMs);
        }
        continue;
      }
      if (this.ending) return "ended";
      if (!(await this.afterFailure(outcome, "getUpdates"))) return this.endedAs();
    }
    return "ended";
  }

  private endedAs(): "ended" | "unauthorized" {
    return this.state === "unauthorized" ? "unauthorized" : "ended";
  }

  /** The offset the last batch stored (by this instance or the leader before it); false when the term ended first. */
  private async readOffset(): Promise<boolean> {
    for (let attempt = 1; !this.ending; attempt++) {
      try {
        const stored = await runEither(this.deps.settings.get(POLL_OFFSET_KEY));
        this.offset = stored === undefined ? undefined : Number(stored);
        return true;
      } catch (error) {
        const delay = this.failures.backoffDelay(attempt);
        this.deps.log.error("polling: could not read the stored offset; trying again", { retry_in_ms: Math.round(delay), ...errorFields(error) });
        await this.sleep(delay);
      }
    }
    return false;
  }

  /** getWebhookInfo, and deleteWebhook when one is set; false when polling must not go on. */
  private async removeWebhook(): Promise<boolean> {
    const { api, log } = this.deps;
    while (!this.ending) {
      const info = await getWebhookInfo(api);
      if (this.ending) return false;
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
      if (this.ending) return false;
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

  private async storeBatch(items: unknown[], term: PollTerm): Promise<void> {
    const { inbox, settings, log, metrics } = this.deps;
    const { updates: batch, lastId, skipped } = readPolledBatch(items);
    for (const id of skipped) log.warn("polling: skipped an item of getUpdates that is not a valid Update", { update_id: id });
    if (lastId < 0) {
      log.error("polling: getUpdates answered items without any update_id; retrying", { items: items.length });
      await this.sleep(this.timing.slowRetryMs);
      return;
    }
    const next = Math.max(lastId + 1, this.offset ?? 0);
    // An answer that arrives after the term ended is left to Telegram: the next leader asks for it again.
    if (term.signal.aborted) return log.info("polling: the poller lease was lost while getUpdates answered; the batch is left for the next leader", { count: batch.length });
    try {
      const results = await inbox.storeBatch(batch, function* () {
        yield* term.fence();
        yield* settings.set(POLL_OFFSET_KEY, String(next));
      });
      this.offset = next;
      this.storeFailures = 0;
      for (const result of results) (result.duplicate ? metrics.updatesDuplicate : metrics.updatesReceived).inc();
      log.debug("polling: stored a batch", { count: batch.length, offset: next });
    } catch (error) {
      // Nothing was committed, so the offset did not move: Telegram hands the same batch over again.
      if (term.signal.aborted) return log.info("polling: the poller lease passed on; the batch was not stored (the next leader asks for it again)", { count: batch.length });
      this.storeFailures++;
      const delay = this.failures.backoffDelay(this.storeFailures);
      log.error("polling: could not store a batch; asking for it again", { count: batch.length, retry_in_ms: Math.round(delay), ...errorFields(error) });
      await this.sleep(delay);
    }
  }

  /** Waits as the failure deserves; false when polling must stop (401, stopping, or the term's end). */
  private async afterFailure(outcome: ApiFailure, method: string): Promise<boolean> {
    if (this.ending) return false;
    const verdict = this.failures.verdict(outcome, method);
    this.state = verdict.state;
    if (verdict.state === "unauthorized") return false;
    await this.sleep(verdict.waitMs);
    return !this.ending;
  }

  private recovered(): void {
    this.failures.recovered();
    this.state = "polling";
  }

  /** A wait that stop() and the term's end cut short. */
  private sleep(ms: number): Promise<void> {
    if (this.ending) return Promise.resolve();
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

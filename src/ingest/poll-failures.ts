import type { Logger } from "../observability/log.ts";
import type { ApiFailure } from "../telegram/api.ts";

export interface BackoffTiming {
  /** Network errors and 5xx: the first retry waits about this long, doubling up to the cap. */
  backoffBaseMs: number;
  backoffCapMs: number;
  /** 409 Conflict and other refusals: retry this slowly (another instance may hold the updates for long). */
  slowRetryMs: number;
}

/** What a failed call to Telegram means for the poller: stop for good, or wait this long and go on. */
export type FailureVerdict = { state: "unauthorized" } | { state: "conflict" | "retrying"; waitMs: number };

/**
 * How the poller answers failed calls to Telegram: what it says (once per stretch of conflict),
 * how long it waits (capped exponential backoff with jitter for outages, slow retries for
 * refusals), and when it gives up (401: no token Telegram refuses gets better by asking again).
 */
export class PollFailures {
  /** Consecutive failed calls to Telegram since it last answered. */
  private failures = 0;
  private inConflict = false;

  constructor(
    private readonly timing: BackoffTiming,
    private readonly log: Logger,
    private readonly random: () => number,
  ) {}

  verdict(outcome: ApiFailure, method: string): FailureVerdict {
    const { log, timing } = this;
    if (outcome.code === 401) {
      log.error(
        "polling stopped: Telegram refused the bot token (401 Unauthorized). Check TELEGRAM_BOT_TOKEN (from @BotFather) and restart timbre; health, metrics and admin keep serving",
        { method, error: outcome.description },
      );
      return { state: "unauthorized" };
    }
    if (outcome.code === 409) {
      if (!this.inConflict) {
        log.warn(
          "polling: Telegram answered 409 Conflict: another instance is calling getUpdates with this token, or a webhook is set. Stop the other instance or delete the webhook (timbre webhook delete); retrying slowly",
          { method, error: outcome.description, retry_every_ms: timing.slowRetryMs },
        );
      }
      this.inConflict = true;
      return { state: "conflict", waitMs: timing.slowRetryMs * (0.75 + this.random() * 0.5) };
    }
    if (outcome.code === 429) {
      const delay = outcome.retryAfter !== undefined ? outcome.retryAfter * 1000 : timing.slowRetryMs;
      log.warn("polling: Telegram asks to slow down (429)", { method, retry_in_ms: delay });
      return { state: "retrying", waitMs: delay };
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
      return { state: "retrying", waitMs: delay };
    }
    log.error("polling: Telegram refused the call; retrying slowly", { method, code: outcome.code, error: outcome.description });
    return { state: "retrying", waitMs: timing.slowRetryMs };
  }

  /** Telegram answered: says so after a conflict or an outage, and counts afresh. */
  recovered(): void {
    if (this.inConflict) this.log.info("polling: the conflict is over; taking updates again");
    else if (this.failures > 0) this.log.info("polling: Telegram answers again", { failed_attempts: this.failures });
    this.inConflict = false;
    this.failures = 0;
  }

  /** Capped exponential backoff with jitter: between half and all of min(cap, base * 2^(n-1)). */
  backoffDelay(attempt: number): number {
    const ceiling = Math.min(this.timing.backoffCapMs, this.timing.backoffBaseMs * 2 ** Math.min(attempt - 1, 30));
    return ceiling / 2 + (this.random() * ceiling) / 2;
  }
}

export function isRetryableCode(code: number): boolean {
  return code === 0 || code === 429 || code >= 500;
}

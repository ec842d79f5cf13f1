import type { Clock } from "../clock.ts";
import type { Logger } from "../observability/log.ts";
import { isRetryable, type TelegramApi } from "./api.ts";

export interface BotIdentityOptions {
  /** First retry of a failed getMe after about this long, doubling up to `backoffCapMs` (default 1 s and 60 s). */
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /**
   * How long after start `whenKnown` waits for the username (default 10 s). A command addressed to
   * some bot waits at most this long to be told apart; after it, and once getMe is known, nothing waits.
   */
  graceMs?: number;
}

/**
 * Who timbre is on Telegram: getMe on start, in the background (it never holds up start-up or
 * the inbox), retried with capped exponential backoff while Telegram is unreachable, failing or
 * rate limiting. A refusal (401: a bad token) is logged and not retried.
 */
export class BotIdentity {
  /** The bot's username without "@"; undefined until getMe answers. */
  username: string | undefined;
  private stopped = false;
  /** The wait before the next getMe; stop() ends it. */
  private pause: { cancel(): void; resolve(): void } | undefined;
  private readonly waiters: (() => void)[] = [];
  private graceOver = false;
  private readonly backoffBaseMs: number;
  private readonly backoffCapMs: number;
  private readonly graceMs: number;

  constructor(
    private readonly deps: { api: TelegramApi; clock: Clock; log: Logger },
    options: BotIdentityOptions = {},
  ) {
    this.backoffBaseMs = options.backoffBaseMs ?? 1000;
    this.backoffCapMs = options.backoffCapMs ?? 60_000;
    this.graceMs = options.graceMs ?? 10_000;
  }

  start(): void {
    const grace = this.deps.clock.setTimeout(() => {
      this.graceOver = true;
      this.release();
    }, this.graceMs);
    void this.ask(1).finally(() => grace.cancel());
  }

  stop(): void {
    this.stopped = true;
    this.pause?.cancel();
    this.pause?.resolve();
    this.release();
  }

  /** Resolves with the username once known, or with undefined once the start's grace period is over. */
  whenKnown(): Promise<string | undefined> {
    if (this.username !== undefined || this.graceOver || this.stopped) return Promise.resolve(this.username);
    return new Promise((resolve) => this.waiters.push(() => resolve(this.username)));
  }

  private release(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  private async ask(attempt: number): Promise<void> {
    if (this.stopped) return;
    const { api, log, clock } = this.deps;
    const outcome = await api.call("getMe", undefined);
    if (this.stopped) return;
    if (outcome.ok) {
      const me = outcome.result as { id?: unknown; username?: unknown };
      const username = typeof me.username === "string" && me.username !== "" ? me.username : undefined;
      if (username !== undefined) {
        this.username = username;
        log.info(`telegram: this bot is @${username}`, { bot_id: typeof me.id === "number" ? me.id : undefined, username });
      } else {
        log.warn("telegram: getMe answered without a username; commands addressed to any bot count as this bot's", { bot_id: typeof me.id === "number" ? me.id : undefined });
      }
      this.graceOver = true;
      this.release();
      return;
    }
    if (!isRetryable(outcome)) {
      log.error("telegram: getMe was refused; commands addressed to any bot count as this bot's (check TELEGRAM_BOT_TOKEN)", { code: outcome.code, error: outcome.description });
      this.graceOver = true;
      this.release();
      return;
    }
    const capped = Math.min(this.backoffCapMs, this.backoffBaseMs * 2 ** Math.min(attempt - 1, 30));
    const delay = outcome.code === 429 && outcome.retryAfter !== undefined ? outcome.retryAfter * 1000 : capped;
    log.warn("telegram: getMe failed; asking again", { code: outcome.code, error: outcome.description, attempt, retry_in_ms: delay });
    await new Promise<void>((resolve) => {
      const timer = clock.setTimeout(resolve, delay);
      this.pause = { resolve, cancel: () => timer.cancel() };
    });
    this.pause = undefined;
    return this.ask(attempt + 1);
  }
}

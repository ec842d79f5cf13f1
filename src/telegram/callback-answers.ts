import type { Clock } from "../clock.ts";
import type { Logger } from "../observability/log.ts";
import { isRetryable, type ApiOutcome, type TelegramApi } from "./api.ts";

/** Which tap an answer is for, for its log line. */
export interface TapIds {
  update_id?: number;
  chat_id?: number | null;
}

export interface CallbackAnswerOptions {
  /** Attempts in all before giving up (default 3): a tap's spinner only waits about 15 s. */
  attempts?: number;
  /** Wait before the second attempt, doubling after (default 500 ms); a 429's retry_after is honoured up to `maxWaitMs`. */
  backoffBaseMs?: number;
  maxWaitMs?: number;
}

/**
 * answerCallbackQuery, sent at once: not stored, not spaced per chat (it is not a message), and
 * retried a few times on network errors, 5xx and 429, since an unanswered tap spins in the user's
 * app until Telegram gives up. The final failure is logged with the query's id.
 */
export class CallbackAnswers {
  private readonly attempts: number;
  private readonly backoffBaseMs: number;
  private readonly maxWaitMs: number;

  constructor(
    private readonly deps: { api: TelegramApi; clock: Clock; log: Logger },
    options: CallbackAnswerOptions = {},
  ) {
    this.attempts = options.attempts ?? 3;
    this.backoffBaseMs = options.backoffBaseMs ?? 500;
    this.maxWaitMs = options.maxWaitMs ?? 5_000;
  }

  /**
   * Answers a callback query (with `text` as a short notice, when given); resolves with the last
   * outcome. `tap` names the update and chat in the failure's log line.
   */
  async answer(callbackQueryId: string, text?: string, tap: TapIds = {}): Promise<ApiOutcome<true>> {
    const { api, clock, log } = this.deps;
    const params = { callback_query_id: callbackQueryId, ...(text !== undefined ? { text } : {}) };
    for (let attempt = 1; ; attempt++) {
      const outcome = await api.call("answerCallbackQuery", params);
      if (outcome.ok) return outcome;
      if (!isRetryable(outcome) || attempt >= this.attempts) {
        log.warn("telegram: could not answer a callback query; the button may spin until Telegram gives up", {
          callback_query_id: callbackQueryId,
          ...tap,
          code: outcome.code,
          attempts: attempt,
          error: outcome.description,
        });
        return outcome;
      }
      const backoff = this.backoffBaseMs * 2 ** (attempt - 1);
      const wait = Math.min(this.maxWaitMs, outcome.code === 429 && outcome.retryAfter !== undefined ? outcome.retryAfter * 1000 : backoff);
      await new Promise<void>((resolve) => clock.setTimeout(resolve, wait));
    }
  }
}

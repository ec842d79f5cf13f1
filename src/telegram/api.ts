import { Bot, TelegramError } from "gramio";
import type { APIMethodParams, APIMethodReturn, APIMethods } from "@gramio/types";

/** The outcome of one Bot API call, as a value: callers decide what a failure means. */
export type ApiOutcome<T> =
  | { ok: true; result: T }
  | {
      ok: false;
      /** Telegram's error_code, or 0 for a network error, a timeout or an unreadable answer. */
      code: number;
      description: string;
      /** Seconds Telegram asks us to wait (429). */
      retryAfter?: number;
    };

export type ApiMethod = keyof APIMethods;

export interface ApiCallObserver {
  (method: string, outcome: "ok" | "error" | "network"): void;
}

export interface TelegramApiOptions {
  /** Bot API root: calls go to `{apiUrl}/bot{token}/{method}`. */
  apiUrl: string;
  token: string;
  /** Longest wait for one call (getUpdates adds its long-poll timeout to this). */
  timeoutMs?: number;
  observe?: ApiCallObserver;
}

/**
 * timbre's only way to reach Telegram: GramIO's client pointed at TELEGRAM_API_URL, with
 * every call answering an ApiOutcome (never throwing) and an abort for shutdown.
 */
export class TelegramApi {
  private readonly bot: Bot;
  private readonly stopController = new AbortController();
  private readonly timeoutMs: number;
  /** The signal of the call being started, read by GramIO as the call starts (see the constructor). */
  private startingCall: AbortSignal | undefined;

  constructor(private readonly options: TelegramApiOptions) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    // GramIO takes one fetchOptions per Bot and spreads it into each request synchronously, as
    // the call starts (before its first await). A getter hands each request its own signal, so a
    // timed-out call is really aborted and never lingers beside its retry (SEND_CONCURRENCY holds).
    const api = this;
    const fetchOptions = {
      get signal(): AbortSignal {
        return api.startingCall ?? api.stopController.signal;
      },
    };
    this.bot = new Bot(options.token, { api: { baseURL: `${options.apiUrl}/bot`, fetchOptions } });
  }

  /** Ends every call in flight at once (a long poll among them); later calls fail fast. */
  abortAll(): void {
    this.stopController.abort(new Error("timbre is shutting down"));
  }

  async call<M extends ApiMethod>(method: M, params: APIMethodParams<M>, extraTimeoutMs = 0): Promise<ApiOutcome<APIMethodReturn<M>>> {
    const api = this.bot.api as unknown as Record<string, (p: unknown) => Promise<unknown>>;
    const limitMs = this.timeoutMs + extraTimeoutMs;
    const callController = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new Error(`no answer from Telegram within ${limitMs / 1000} s`);
        callController.abort(error);
        reject(error);
      }, limitMs);
    });
    try {
      // GramIO throws TelegramError for Telegram's own errors (its `suppress` flag would be sent
      // to Telegram as a parameter), and anything else for network trouble.
      let request: Promise<unknown>;
      this.startingCall = AbortSignal.any([this.stopController.signal, callController.signal]);
      try {
        request = api[method]!(params);
      } finally {
        this.startingCall = undefined;
      }
      const result = await Promise.race([request, timeout]);
      this.options.observe?.(method, "ok");
      return { ok: true, result: result as APIMethodReturn<M> };
    } catch (error) {
      if (error instanceof TelegramError) {
        this.options.observe?.(method, "error");
        const retryAfter = (error.payload as { retry_after?: number } | undefined)?.retry_after;
        return { ok: false, code: error.code, description: error.message, ...(retryAfter !== undefined ? { retryAfter } : {}) };
      }
      this.options.observe?.(method, "network");
      return { ok: false, code: 0, description: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A call failed in a way worth retrying: network, timeout, 5xx or 429. */
export function isRetryable(outcome: { ok: false; code: number }): boolean {
  return outcome.code === 0 || outcome.code === 429 || outcome.code >= 500;
}

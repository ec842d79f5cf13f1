import type { APIMethodParams, APIMethodReturn, APIMethods } from "@gramio/types";
import { readBotApiAnswer, type ApiOutcome } from "./bot-api-answer.ts";
import { CallDeadlines, type Deadline } from "./call-deadlines.ts";
import { unusableResult } from "./result-shape.ts";
import { redactionVariants, thrownMessage } from "../observability/log.ts";

export { isRetryable, type ApiFailure, type ApiOutcome } from "./bot-api-answer.ts";

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
 * timbre's only way to reach Telegram: POSTs to TELEGRAM_API_URL with GramIO's types (and its
 * multipart encoding for uploads), every call answering an ApiOutcome (never throwing), a time
 * limit per call and an abort for shutdown. It reads the HTTP answer itself, because what a
 * failure means depends on the HTTP status as well as the body (a proxy's 502 has no error_code).
 */
export class TelegramApi {
  /** The calls in flight with a caller's signal, each with its own controller: abortAll ends them too. */
  private readonly inFlight = new Set<AbortController>();
  /** The time limits of the calls without one (the outbox's sends): shared by calls that start close together. */
  private readonly deadlines = new CallDeadlines(noAnswerWithin);
  private stopped = false;
  private readonly timeoutMs: number;
  /** The token's forms, cut out of failure descriptions (an answer that quotes the URL it was sent to). */
  private readonly tokenForms: string[];

  constructor(private readonly options: TelegramApiOptions) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.tokenForms = redactionVariants([options.token]);
  }

  /** Ends every call in flight at once (a long poll among them); later calls fail fast. */
  abortAll(): void {
    this.stopped = true;
    const reason = new Error("timbre is shutting down");
    for (const call of this.inFlight) call.abort(reason);
    this.deadlines.abortAll(reason);
  }

  /**
   * `signal` ends this one call early (the poller's long poll when its lease is lost); an
   * aborted call answers a network failure with the signal's reason.
   */
  async call<M extends ApiMethod>(method: M, params: APIMethodParams<M>, extraTimeoutMs = 0, signal?: AbortSignal): Promise<ApiOutcome<APIMethodReturn<M>>> {
    if (this.stopped) return { ok: false, code: 0, description: "timbre is shutting down" };
    if (signal?.aborted) return { ok: false, code: 0, description: reasonText(signal.reason) };
    const limitMs = this.timeoutMs + extraTimeoutMs;
    const deadline = signal ? this.ownDeadline(limitMs, signal) : this.deadlines.take(limitMs);
    try {
      const values = (params ?? {}) as NonNullable<APIMethodParams<M>>;
      // JSON unless a parameter is a file (setWebhook's certificate): no await on the common path.
      const init: RequestInit = hasFile(values)
        ? { method: "POST", ...(await fileBody(method, values)), signal: deadline.signal }
        : { method: "POST", body: JSON.stringify(values), headers: JSON_HEADERS, signal: deadline.signal };
      const response = await fetch(`${this.options.apiUrl}/bot${this.options.token}/${method}`, init);
      let outcome = readBotApiAnswer(response.status, response.statusText, await response.text());
      const unusable = outcome.ok ? unusableResult(method, outcome.result) : undefined;
      if (unusable) outcome = { ok: false, code: 0, unusable: true, description: `HTTP ${response.status}: ${unusable}` };
      this.options.observe?.(method, outcome.ok ? "ok" : outcome.code === 0 ? "network" : "error");
      // A failure's description goes to admin answers, the outbox's last_error and the CLI, not only the (redacted) log.
      if (!outcome.ok) outcome = { ...outcome, description: this.withoutToken(outcome.description) };
      return outcome as ApiOutcome<APIMethodReturn<M>>;
    } catch (error) {
      this.options.observe?.(method, "network");
      return { ok: false, code: 0, description: this.withoutToken(reasonText(deadline.signal.aborted ? deadline.signal.reason : error)) };
    } finally {
      deadline.release();
    }
  }

  /**
   * A controller of the call's own, for a call the caller may end early (the poller's long poll
   * when its lease is lost); it ends with the caller's reason, or at its time limit.
   */
  private ownDeadline(limitMs: number, signal: AbortSignal): Deadline {
    const controller = new AbortController();
    this.inFlight.add(controller);
    const timer = setTimeout(() => controller.abort(noAnswerWithin(limitMs)), limitMs);
    const abortFromCaller = () => controller.abort(signal.reason);
    signal.addEventListener("abort", abortFromCaller, { once: true });
    return {
      signal: controller.signal,
      release: () => {
        signal.removeEventListener("abort", abortFromCaller);
        clearTimeout(timer);
        this.inFlight.delete(controller);
      },
    };
  }

  private withoutToken(text: string): string {
    for (const form of this.tokenForms) text = text.split(form).join("[redacted]");
    return text;
  }
}

const noAnswerWithin = (limitMs: number) => new Error(`no answer from Telegram within ${limitMs / 1000} s`);

function reasonText(reason: unknown): string {
  return thrownMessage(reason);
}

const JSON_HEADERS = { "content-type": "application/json" };

function hasFile(values: object): boolean {
  for (const key in values) if ((values as Record<string, unknown>)[key] instanceof Blob) return true;
  return false;
}

/**
 * Multipart, as GramIO encodes it, when the parameters carry a file (setWebhook's certificate).
 * GramIO is loaded only then: it costs the process about 28 MB of memory.
 */
async function fileBody<M extends ApiMethod>(method: M, values: NonNullable<APIMethodParams<M>>): Promise<{ body: string | FormData; headers?: Record<string, string> }> {
  const { convertJsonToFormData, isMediaUpload } = await import("gramio");
  if (isMediaUpload(method, values)) return { body: await convertJsonToFormData(method, values) };
  return { body: JSON.stringify(values), headers: JSON_HEADERS };
}

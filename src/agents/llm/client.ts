import type { Clock } from "../../clock.ts";
import type { Logger } from "../../observability/log.ts";
import type { Metrics } from "../../observability/metrics.ts";
import { backoffMs, DEFAULT_RETRY, isRetryableStatus, retryAfterMs, type RetryPolicy } from "./retry.ts";
import type { LlmSettings } from "./settings.ts";
import { errorMessageOf, parseCompletion, type AcceptedCompletion, type ChatRequest } from "./wire.ts";
import { thrownMessage } from "../../observability/log.ts";

/** A model call that will not succeed: its message says why (the server's own error message where there is one). */
export class LlmCallError extends Error {
  override name = "LlmCallError";
}

export interface ChatClientDeps {
  log: Logger;
  metrics?: Metrics;
  clock: Clock;
  /** When failed calls are tried again (default DEFAULT_RETRY). */
  retry?: RetryPolicy;
}

/** Ids a call's log lines carry. */
export type CallFields = Record<string, string | number>;

/** How one HTTP attempt ended. */
type Attempt =
  | { kind: "ok"; completion: AcceptedCompletion }
  | { kind: "failed"; retryable: boolean; message: string; status?: number; retryAfterMs?: number }
  | { kind: "timeout" }
  | { kind: "cancelled"; error: unknown };

/**
 * POST {LLM_BASE_URL}/chat/completions with a typed body, the answer checked against the
 * accepted schema. 429, 5xx and network errors are tried again with capped backoff honouring
 * Retry-After; any other status, a malformed answer and a call over LLM_TIMEOUT_SECONDS fail at
 * once with an LlmCallError. The API key is never part of an error message or a log line.
 */
export class ChatClient {
  private readonly url: string;
  private readonly retry: RetryPolicy;

  constructor(
    private readonly settings: LlmSettings,
    private readonly deps: ChatClientDeps,
  ) {
    this.url = `${settings.baseUrl}/chat/completions`;
    this.retry = deps.retry ?? DEFAULT_RETRY;
  }

  async complete(request: ChatRequest, signal: AbortSignal, fields: CallFields): Promise<AcceptedCompletion> {
    const { log, metrics, clock } = this.deps;
    const count = (outcome: "ok" | "retried" | "error" | "timeout" | "cancelled") => metrics?.llmCalls.inc({ outcome });
    for (let attempt = 1; ; attempt++) {
      const result = await this.attempt(request, signal);
      if (result.kind === "ok") {
        count("ok");
        const usage = result.completion.usage;
        if (usage?.prompt_tokens) metrics?.llmTokens.inc({ kind: "prompt" }, usage.prompt_tokens);
        if (usage?.completion_tokens) metrics?.llmTokens.inc({ kind: "completion" }, usage.completion_tokens);
        return result.completion;
      }
      if (result.kind === "cancelled") {
        count("cancelled");
        throw result.error;
      }
      if (result.kind === "timeout") {
        count("timeout");
        throw new LlmCallError(`the model did not answer within LLM_TIMEOUT_SECONDS=${this.settings.timeoutSeconds}; the call to ${this.url} was aborted`);
      }
      const asked = result.retryAfterMs;
      if (!result.retryable || attempt >= this.retry.attempts || (asked !== undefined && asked > this.retry.maxRetryAfterMs)) {
        count("error");
        const why = !result.retryable
          ? ""
          : asked !== undefined && asked > this.retry.maxRetryAfterMs
            ? ` (it asked to wait ${Math.ceil(asked / 1000)} s; timbre waits at most ${this.retry.maxRetryAfterMs / 1000} s)`
            : ` (gave up after ${attempt} attempts)`;
        throw new LlmCallError(this.redacted(`${result.message}${why}`));
      }
      count("retried");
      const waitMs = backoffMs(this.retry, attempt, asked);
      log.warn("llm: model call failed; trying again", { ...fields, attempt, status: result.status ?? null, retry_in_ms: waitMs, error: this.redacted(result.message) });
      await sleep(clock, waitMs, signal);
    }
  }

  private async attempt(request: ChatRequest, signal: AbortSignal): Promise<Attempt> {
    const timeout = new AbortController();
    const timer = this.deps.clock.setTimeout(() => timeout.abort(), this.settings.timeoutSeconds * 1000);
    const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
    if (this.settings.apiKey !== undefined) headers.authorization = `Bearer ${this.settings.apiKey}`;
    try {
      const response = await fetch(this.url, {
        method: "POST",
        headers,
        body: JSON.stringify(request),
        signal: AbortSignal.any([signal, timeout.signal]),
        // Bun's own 5-minute idle timer would cut a slow model short; LLM_TIMEOUT_SECONDS is the limit.
        timeout: false,
      } as RequestInit);
      const text = await response.text();
      if (!response.ok) {
        return {
          kind: "failed",
          retryable: isRetryableStatus(response.status),
          status: response.status,
          message: `the model API answered ${response.status}: ${errorMessageOf(text, (t) => this.redacted(t))}`,
          ...(isRetryableStatus(response.status) ? { retryAfterMs: retryAfterMs(response.headers, this.deps.clock.now()) } : {}),
        };
      }
      const parsed = parseCompletion(text, (t) => this.redacted(t));
      if (!parsed.ok) return { kind: "failed", retryable: false, status: response.status, message: `the model API's answer from ${this.url} cannot be used: ${parsed.problem}` };
      return { kind: "ok", completion: parsed.completion };
    } catch (error) {
      if (signal.aborted) return { kind: "cancelled", error };
      if (timeout.signal.aborted) return { kind: "timeout" };
      return { kind: "failed", retryable: true, message: `the model API at ${this.url} could not be reached: ${thrownMessage(error)}` };
    } finally {
      timer.cancel();
    }
  }

  /** Servers may echo the key they refused; it never leaves this client. */
  private redacted(text: string): string {
    const key = this.settings.apiKey;
    return key !== undefined && key.length >= 4 ? text.split(key).join("[redacted]") : text;
  }
}

/** Waits `ms` on the clock; the run's cancellation ends the wait. */
function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      timer.cancel();
      reject(signal.reason);
    };
    const timer = clock.setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

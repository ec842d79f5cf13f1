/** When a failed model call is tried again: 429, 5xx and network errors, with capped backoff honouring Retry-After. */

export interface RetryPolicy {
  /** Attempts in all, the first included (default 4). */
  attempts: number;
  /** The wait before the first retry, doubling after each (default 1000 ms). */
  baseMs: number;
  /** The longest wait between attempts (default 20 s). */
  capMs: number;
  /** A Retry-After asking for longer than this (default 60 s) is not waited for: the call gives up. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseMs: 1_000, capMs: 20_000, maxRetryAfterMs: 60_000 };

/** 429 and 5xx may pass; every other status (400, 401, 404...) will not, so it fails at once. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

const ASCTIME = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/**
 * The wait a server asks for: `retry-after-ms` (OpenAI), else `Retry-After` in seconds or as an
 * HTTP date. Undefined when there is none or it cannot be read.
 */
export function retryAfterMs(headers: Headers, now: number): number | undefined {
  const ms = headers.get("retry-after-ms")?.trim();
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Number(ms);
  const value = headers.get("retry-after")?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  // HTTP dates are GMT; the asctime form ("Sun Nov  6 08:49:37 1994") does not say so, and
  // Date.parse would read it as local time.
  const at = Date.parse(ASCTIME.test(value) ? `${value} GMT` : value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The wait before attempt `attempt + 1`: what the server asked for, else exponential backoff with a little jitter. */
export function backoffMs(policy: RetryPolicy, attempt: number, asked: number | undefined, random: () => number = Math.random): number {
  if (asked !== undefined) return asked;
  const exponential = Math.min(policy.capMs, policy.baseMs * 2 ** (attempt - 1));
  return Math.round(exponential * (0.75 + 0.25 * random()));
}

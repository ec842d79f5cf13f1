import { awaited, done, type Op } from "../db/op.ts";
import type { RateLimits } from "../db/pg/rate-limit.ts";
import { TokenBucket } from "./token-bucket.ts";

/** SEND_RATE_GLOBAL: `take` answers 0 when a send may start now (and counts it), else the ms to wait. */
export interface SendRate {
  /** Up to `n` sends at once: how many may start now (they are counted), and when to ask again for the rest. */
  takeUpTo(n: number, now: number): Op<{ granted: number; waitMs: number }>;
}

/** One instance (SQLite): a token bucket in memory, holding at most one second's worth. */
export function localSendRate(ratePerSecond: number, now: number): SendRate {
  const bucket = new TokenBucket(ratePerSecond, now);
  return {
    takeUpTo(n, at) {
      let granted = 0;
      while (granted < n && bucket.take(at)) granted++;
      return done({ granted, waitMs: granted < n ? Math.max(1, bucket.nextTokenAt(at) - at) : 0 });
    },
  };
}

/** The limiter's row in rate_limits: the rate of the bot as a whole. */
export const GLOBAL_SEND_LIMITER = "send_global";

/** Several instances (PostgreSQL): one GCRA row all of them take from, with the same burst (one second's worth). */
export function sharedSendRate(limits: RateLimits, ratePerSecond: number): SendRate {
  const burst = Math.max(1, Math.floor(ratePerSecond));
  return { takeUpTo: (n, now) => awaited(limits.takeUpTo(GLOBAL_SEND_LIMITER, n, ratePerSecond, burst, now)) };
}

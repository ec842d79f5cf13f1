/**
 * SEND_RATE_GLOBAL on one instance (localSendRate, a token bucket), on the times it is asked at:
 * what the outbox end-to-end tests can only see through the jitter of arrival times.
 */
import { expect, test } from "bun:test";
import { runSync } from "../../src/db/op.ts";
import { localSendRate } from "../../src/telegram/send-rate.ts";

function asker(ratePerSecond: number, start = 0) {
  const rate = localSendRate(ratePerSecond, start);
  return (n: number, at: number) => runSync(rate.takeUpTo(n, at));
}

test("a full second's worth at once, then one send each 1/rate; the wait named is the time to the next one", () => {
  const take = asker(5);
  expect(take(10, 0)).toEqual({ granted: 5, waitMs: 200 });
  expect(take(1, 120)).toEqual({ granted: 0, waitMs: 80 });
  expect(take(3, 200)).toEqual({ granted: 1, waitMs: 200 });
  // Never a wait of 0 ms for a refused send: the outbox would spin.
  expect(take(1, 399.9)).toEqual({ granted: 0, waitMs: 1 });
  expect(take(2, 400)).toEqual({ granted: 1, waitMs: 200 });
  // An idle spell refills the bucket, up to one second's worth and no more.
  expect(take(10, 10_000)).toEqual({ granted: 5, waitMs: 200 });
});

test("a rate under 1 a second still lets one send go, then waits its full interval", () => {
  const take = asker(0.5);
  expect(take(3, 0)).toEqual({ granted: 1, waitMs: 2000 });
  expect(take(1, 1999)).toEqual({ granted: 0, waitMs: 1 });
  // All that was asked for went: nothing to wait for.
  expect(take(1, 2000)).toEqual({ granted: 1, waitMs: 0 });
  expect(take(1, 2001)).toEqual({ granted: 0, waitMs: 1999 });
});

test("asked as the outbox asks (often, for several), it keeps to the rate over every span and does not fall behind it", () => {
  const RATE = 5;
  const take = asker(RATE);
  const grants: number[] = [];
  // Asks at uneven times, as ticks land: 0, 7, 20, 27, 40, ... ms, for up to 3 sends each.
  for (let at = 0, k = 0; at <= 10_000; at += k++ % 2 === 0 ? 7 : 13) {
    const { granted } = take(3, at);
    for (let i = 0; i < granted; i++) grants.push(at);
  }
  for (let i = 0; i < grants.length; i++) {
    for (let j = i; j < grants.length; j++) {
      // The burst plus the rate times the span: never more.
      expect(j - i + 1).toBeLessThanOrEqual(RATE + Math.floor((RATE * (grants[j]! - grants[i]!)) / 1000));
    }
  }
  // Never behind either: by 10 s the burst and every token since (asked every 20 ms at most, so at most one ask late).
  expect(grants.length).toBeGreaterThanOrEqual(RATE + RATE * 10 - 1);
});

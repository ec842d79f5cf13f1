import type { Sql } from "postgres";

/**
 * A rate shared by every instance (SEND_RATE_GLOBAL across the bot): the generic cell rate
 * algorithm on one `rate_limits` row. The row holds the theoretical arrival time (TAT); a grant
 * at `now` moves it to max(TAT, now) + 1/rate, and is allowed while that stays within
 * `burst` intervals of now. Each take is one statement that locks the row, so instances never
 * grant the same slot twice: over any span of time from t0 to t1 (by the `now`s passed), at most
 * burst + rate × (t1 − t0) grants are made, however many instances ask.
 */

export interface RateGrant {
  /** How many of the asked-for sends may go now (0 to n); each is recorded. */
  granted: number;
  /** Ms until the next send may go, after these: 0 when one more may go now. */
  waitMs: number;
}

interface Plan {
  start: number;
  granted: number;
}

const US_PER_MS = 1_000;
const US_PER_SECOND = 1_000_000;

function checkLimit(ratePerSecond: number, burst: number): void {
  if (!Number.isFinite(ratePerSecond) || ratePerSecond <= 0) throw new RangeError(`a rate must be a positive number per second, got ${ratePerSecond}`);
  if (!Number.isInteger(burst) || burst < 1) throw new RangeError(`a burst must be a whole number of at least 1, got ${burst}`);
}

export class RateLimits {
  constructor(private readonly sql: Sql) {}

  /**
   * One send on the limiter `name` at `now` (Unix ms): resolves to 0 when it may go now (the grant
   * is recorded), else the ms to wait before asking again.
   */
  async take(name: string, ratePerSecond: number, burst: number, now: number): Promise<number> {
    const { granted, waitMs } = await this.takeUpTo(name, 1, ratePerSecond, burst, now);
    return granted === 1 ? 0 : waitMs;
  }

  /** Up to `n` sends at once (a batch for the outbox's sends in flight), in one statement. */
  async takeUpTo(name: string, n: number, ratePerSecond: number, burst: number, now: number): Promise<RateGrant> {
    checkLimit(ratePerSecond, burst);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`takeUpTo needs a whole number of sends of at least 1, got ${n}`);
    // Whole µs, rounded up: the limiter may run a hair under the rate, never over it.
    const intervalUs = Math.ceil(US_PER_SECOND / ratePerSecond);
    const nowUs = Math.floor(now) * US_PER_MS;
    let plan = await this.grant(name, n, intervalUs, burst, nowUs);
    if (!plan) {
      // The limiter's first use: its row starts with a full burst.
      await this.sql`INSERT INTO rate_limits (name, tat) VALUES (${name}, 0) ON CONFLICT (name) DO NOTHING`;
      plan = (await this.grant(name, n, intervalUs, burst, nowUs))!;
    }
    const tat = plan.start + plan.granted * intervalUs;
    const nextAtUs = tat - (burst - 1) * intervalUs;
    return { granted: plan.granted, waitMs: Math.max(0, Math.ceil((nextAtUs - nowUs) / US_PER_MS)) };
  }

  /**
   * Locks the row (FOR UPDATE waits for another instance's grant and then reads its TAT), plans
   * how many sends fit, and moves the TAT on by that many intervals. Undefined when the row is missing.
   */
  private async grant(name: string, n: number, intervalUs: number, burst: number, nowUs: number): Promise<Plan | undefined> {
    const [plan] = await this.sql<Plan[]>`
      WITH prior AS (
        SELECT GREATEST(tat, ${nowUs}::bigint) AS start FROM rate_limits WHERE name = ${name} FOR UPDATE
      ), plan AS (
        SELECT start, GREATEST(0, LEAST(${n}::bigint, (${burst * intervalUs}::bigint - (start - ${nowUs}::bigint)) / ${intervalUs}::bigint)) AS granted
        FROM prior
      ), moved AS (
        UPDATE rate_limits SET tat = plan.start + plan.granted * ${intervalUs}::bigint
        FROM plan WHERE rate_limits.name = ${name} AND plan.granted > 0
      )
      SELECT start, granted FROM plan`;
    return plan;
  }
}

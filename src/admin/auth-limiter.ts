import type { Clock } from "../clock.ts";
import { silentLogger, type Logger } from "../observability/log.ts";
import type { AuthAttemptGuard, AuthRefusal } from "./auth.ts";

export interface AuthLimiterSettings {
  /** Failed bearer attempts one client address may make within `windowMs`. */
  maxFailures: number;
  windowMs: number;
  /** Addresses remembered at most; the oldest are forgotten first (bounds memory under a spray of addresses). */
  maxTracked: number;
}

export const DEFAULT_AUTH_LIMITS: AuthLimiterSettings = { maxFailures: 10, windowMs: 60_000, maxTracked: 10_000 };

/**
 * Brute-force protection for the admin token: each client address may fail `maxFailures`
 * times in a sliding `windowMs`; then every attempt from it (right token or not, so a guess
 * cannot be confirmed) is answered 429 with Retry-After until its oldest failure leaves the
 * window. A success forgets the address's failures.
 */
export class AuthLimiter implements AuthAttemptGuard {
  /** Failure times per address, oldest first; Map order = least recently failed first. */
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly clock: Clock,
    private readonly settings: AuthLimiterSettings = DEFAULT_AUTH_LIMITS,
    private readonly log: Logger = silentLogger,
  ) {}

  check(peer: string): AuthRefusal | undefined {
    const recent = this.recent(peer);
    if (recent.length < this.settings.maxFailures) return undefined;
    const retryAfter = Math.max(1, Math.ceil((recent[0]! + this.settings.windowMs - this.clock.now()) / 1000));
    return {
      status: 429,
      error: `too many wrong admin tokens from this address (${this.settings.maxFailures} within ${this.settings.windowMs / 1000} s); try again in ${retryAfter} s with the value of ADMIN_TOKEN`,
      retryAfter,
    };
  }

  record(peer: string, accepted: boolean): void {
    if (accepted) {
      this.failures.delete(peer);
      return;
    }
    const recent = this.recent(peer);
    recent.push(this.clock.now());
    // Keep only what the limit needs, and move the address to the back of the eviction order.
    this.failures.delete(peer);
    this.failures.set(peer, recent.slice(-this.settings.maxFailures));
    if (recent.length === this.settings.maxFailures) {
      this.log.warn("admin: too many wrong tokens from one address; refusing it for a while", { peer, failures: recent.length, window_s: this.settings.windowMs / 1000 });
    }
    while (this.failures.size > this.settings.maxTracked) this.failures.delete(this.failures.keys().next().value!);
  }

  /** Addresses currently remembered (tests). */
  get tracked(): number {
    return this.failures.size;
  }

  private recent(peer: string): number[] {
    const times = this.failures.get(peer);
    if (!times) return [];
    const since = this.clock.now() - this.settings.windowMs;
    const kept = times.filter((t) => t > since);
    if (kept.length === 0) this.failures.delete(peer);
    else if (kept.length !== times.length) this.failures.set(peer, kept);
    return kept;
  }
}

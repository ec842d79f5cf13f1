import type { Clock } from "../../clock.ts";
import type { Leases } from "./leases.ts";

export interface LeaseKeeperOptions {
  leases: Leases;
  /** This instance's id, unique to this process (a restarted instance is a new holder). */
  holder: string;
  /** Each lease's length (LEASE_MS); renewals go every third of it. */
  ttlMs: number;
  clock: Clock;
  /**
   * Leases this instance must stop working on at once: not renewed in time (measured from before
   * the renewal was sent), or passed on. Each lost lease is reported once.
   */
  onLost(names: string[]): void;
  /** A renewal or release failed (the database unreachable, a timeout); the keeper carries on. */
  onError(error: unknown): void;
}

interface HeldLease {
  token: number;
  /** Local Unix ms until which the lease is surely still this instance's: from before the take or renewal was sent. */
  validUntil: number;
}

/**
 * The set of leases one instance holds, kept alive: one renewal statement every ttl/3 for all
 * of them, and a report of those it lost. A lease counts as held until the time its last
 * successful take or renewal was *sent* plus ttl, so a slow answer can never stretch it past the
 * moment another instance may take it over.
 */
export class LeaseKeeper {
  private readonly held = new Map<string, HeldLease>();
  /** Names whose take is in flight: a renewal that returns them is not returning strays. */
  private readonly taking = new Set<string>();
  private renewTimer: { cancel(): void } | undefined;
  private expiryTimer: { cancel(): void } | undefined;
  private round: Promise<void> | undefined;
  /** created: takes succeed, nothing renews yet; renewing: after start; stopped: what is taken is released at once. */
  private state: "created" | "renewing" | "stopped" = "created";

  constructor(private readonly options: LeaseKeeperOptions) {}

  /** Starts renewing every ttl/3; until then, leases taken simply run out. */
  start(): void {
    if (this.state !== "created") return;
    this.state = "renewing";
    this.scheduleRenewal(this.options.clock.now());
  }

  /** The lease's token while this instance surely holds it, else undefined. */
  token(name: string): number | undefined {
    const lease = this.held.get(name);
    return lease && this.options.clock.now() < lease.validUntil ? lease.token : undefined;
  }

  /** The names held now. */
  names(): string[] {
    return [...this.held.keys()];
  }

  async take(name: string): Promise<number | undefined> {
    return (await this.takeMany([name])).get(name);
  }

  /** Takes those of `names` it can in one statement; resolves to every one of `names` it holds, with tokens. */
  async takeMany(names: Iterable<string>): Promise<Map<string, number>> {
    const { leases, holder, ttlMs, clock } = this.options;
    const wanted = [...new Set(names)].filter((name) => !this.held.has(name) && !this.taking.has(name));
    for (const name of wanted) this.taking.add(name);
    const sentAt = clock.now();
    let got: Map<string, number>;
    try {
      got = await leases.takeMany(wanted, holder, ttlMs);
    } finally {
      for (const name of wanted) this.taking.delete(name);
    }
    const late: string[] = [];
    for (const [name, token] of got) {
      if (this.state !== "stopped" && clock.now() < sentAt + ttlMs) this.held.set(name, { token, validUntil: sentAt + ttlMs });
      else late.push(name);
    }
    if (late.length > 0) await this.releaseInDatabase(late);
    this.scheduleExpiry();
    const tokens = new Map<string, number>();
    for (const name of names) {
      const token = this.token(name);
      if (token !== undefined) tokens.set(name, token);
    }
    return tokens;
  }

  /** Stops holding `names` (the caller has stopped working on them) and frees them for other instances. */
  async release(names: Iterable<string>): Promise<void> {
    const released = [...names].filter((name) => this.held.delete(name));
    this.scheduleExpiry();
    await this.releaseInDatabase(released);
  }

  /** One renewal round now (the timer runs the same); a round already in flight is joined. */
  renewNow(): Promise<void> {
    this.round ??= this.renew().finally(() => (this.round = undefined));
    return this.round;
  }

  /** Stops renewing and releases every lease held; the caller has stopped working on them. */
  async stop(): Promise<void> {
    this.state = "stopped";
    this.renewTimer?.cancel();
    this.renewTimer = undefined;
    await this.round;
    await this.release([...this.held.keys()]);
    this.expiryTimer?.cancel();
    this.expiryTimer = undefined;
  }

  private async renew(): Promise<void> {
    const { leases, holder, ttlMs, clock } = this.options;
    const sentAt = clock.now();
    const asked = new Map([...this.held].map(([name, lease]) => [name, lease.token]));
    let renewed: Map<string, number>;
    try {
      renewed = await leases.renew(holder, ttlMs);
    } catch (error) {
      this.options.onError(error);
      return;
    }
    const now = clock.now();
    const lost: string[] = [];
    for (const [name, token] of asked) {
      const lease = this.held.get(name);
      if (lease?.token !== token) continue; // released (or lost and taken again) meanwhile
      if (renewed.get(name) === token && now < lease.validUntil) {
        lease.validUntil = Math.max(lease.validUntil, sentAt + ttlMs);
      } else {
        this.held.delete(name);
        lost.push(name);
      }
    }
    // Renewed but not (or no longer) held here: a lease that came back too late, or a release
    // that failed. Freed, so the next take of it, ours or another's, gets a new token.
    const strays = [...renewed.keys()].filter((name) => !this.held.has(name) && !this.taking.has(name));
    this.scheduleExpiry();
    if (lost.length > 0) this.options.onLost(lost);
    await this.releaseInDatabase(strays);
  }

  private async releaseInDatabase(names: string[]): Promise<void> {
    if (names.length === 0) return;
    try {
      await this.options.leases.release(names, this.options.holder);
    } catch (error) {
      this.options.onError(error);
    }
  }

  private scheduleRenewal(from: number): void {
    if (this.state !== "renewing") return;
    const { clock, ttlMs } = this.options;
    this.renewTimer = clock.setTimeout(() => {
      const startedAt = clock.now();
      void this.renewNow().finally(() => this.scheduleRenewal(startedAt));
    }, Math.max(0, from + ttlMs / 3 - clock.now()));
  }

  /** One timer at the earliest validUntil: a lease whose renewal never came back is reported lost then. */
  private scheduleExpiry(): void {
    this.expiryTimer?.cancel();
    this.expiryTimer = undefined;
    if (this.held.size === 0) return;
    const { clock } = this.options;
    let earliest = Infinity;
    for (const lease of this.held.values()) earliest = Math.min(earliest, lease.validUntil);
    this.expiryTimer = clock.setTimeout(() => {
      this.expiryTimer = undefined;
      const now = clock.now();
      const lost = [...this.held].filter(([, lease]) => lease.validUntil <= now).map(([name]) => name);
      for (const name of lost) this.held.delete(name);
      this.scheduleExpiry();
      if (lost.length > 0) this.options.onLost(lost);
    }, Math.max(0, earliest - clock.now()));
  }
}

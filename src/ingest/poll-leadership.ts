import type { TransactionSql } from "postgres";
import type { Clock } from "../clock.ts";
import { awaited, done, type Op } from "../db/op.ts";
import { LeaseKeeper } from "../db/pg/lease-keeper.ts";
import { fenced, LeaseLostError, type Leases } from "../db/pg/leases.ts";
import type { PgSession } from "../db/pg/session.ts";
import { errorFields, type Logger } from "../observability/log.ts";

/** The lease whose holder alone calls getUpdates (SPEC "Several instances": one poller at a time). */
export const POLLER_LEASE = "poller";

/** A stretch of time during which this instance may poll. */
export interface PollTerm {
  /** Aborted the moment the instance may no longer poll: its long poll ends at once and nothing more is stored. */
  readonly signal: AbortSignal;
  /**
   * Inside the batch's transaction: throws unless the term still holds (and then keeps it until
   * the commit), so a paused old leader can never commit a batch or an offset after a new one.
   */
  fence(): Op<void>;
}

/** Who may poll. The poller asks before each term and says when it is done with one. */
export interface PollLeader {
  /** Resolves once this instance may poll; undefined when `stopping` aborts first. */
  lead(stopping: AbortSignal): Promise<PollTerm | undefined>;
  /** The poller is done with `term` (it ended, or the poller gave up): lets it go for another instance. */
  resign(term: PollTerm): Promise<void>;
  /** The poller has stopped for good: lets go, so another instance takes over at once. */
  stop(): Promise<void>;
}

const FOREVER = new AbortController().signal;

/** One instance and nothing to coordinate (SQLite: one process holds the file): always the leader. */
export const SOLE_POLLER: PollLeader = {
  lead: async (stopping) => (stopping.aborted ? undefined : { signal: FOREVER, fence: () => done(undefined) }),
  resign: async () => {},
  stop: async () => {},
};

export interface PollLeadershipOptions {
  leases: Leases;
  /** The session the inbox's transactions run in: the fence joins the batch's transaction through it. */
  session: PgSession;
  /** This instance's id, unique to the process; the lease's holder is `${instance}/poller`. */
  instance: string;
  clock: Clock;
  log: Logger;
  /** The lease's length (default 15 s): a leader that dies is replaced within about this plus retryMs. */
  ttlMs?: number;
  /** A standby instance tries to take the lease this often (default 3 s). */
  retryMs?: number;
}

export const DEFAULT_POLL_LEASE_TTL_MS = 15_000;
export const DEFAULT_POLL_LEASE_RETRY_MS = 3_000;

/**
 * The poller's leadership on PostgreSQL: the holder of the `poller` lease polls, every other
 * instance waits and tries to take it every `retryMs`. The lease has a keeper of its own, with a
 * holder name of its own: a keeper frees as strays the leases of its holder it does not know, so
 * it must not share a holder with the instance's chat leases.
 */
export class PollLeadership implements PollLeader {
  private readonly keeper: LeaseKeeper;
  private readonly retryMs: number;
  private current: { controller: AbortController; token: number } | undefined;

  constructor(private readonly options: PollLeadershipOptions) {
    this.retryMs = options.retryMs ?? DEFAULT_POLL_LEASE_RETRY_MS;
    this.keeper = new LeaseKeeper({
      leases: options.leases,
      holder: `${options.instance}/poller`,
      ttlMs: options.ttlMs ?? DEFAULT_POLL_LEASE_TTL_MS,
      clock: options.clock,
      onLost: (names) => {
        if (names.includes(POLLER_LEASE)) this.lost("it was not renewed in time or another instance took it over");
      },
      onError: (error) => options.log.warn("polling: could not renew or release the poller lease; carrying on", errorFields(error)),
    });
  }

  async lead(stopping: AbortSignal): Promise<PollTerm | undefined> {
    const { log } = this.options;
    this.keeper.start();
    let waitingSaid = false;
    while (!stopping.aborted) {
      let token: number | undefined;
      try {
        token = await this.keeper.take(POLLER_LEASE);
      } catch (error) {
        log.warn("polling: could not ask for the poller lease; trying again", { retry_in_ms: this.retryMs, ...errorFields(error) });
      }
      if (stopping.aborted) return undefined;
      if (token !== undefined) {
        log.info("polling: this instance holds the poller lease and polls", { token });
        return this.begin(token);
      }
      if (!waitingSaid) log.info("polling: another instance polls; this one takes over when it stops", { retry_every_ms: this.retryMs });
      waitingSaid = true;
      await pause(this.options.clock, this.retryMs, stopping);
    }
    return undefined;
  }

  async resign(term: PollTerm): Promise<void> {
    if (this.current?.controller.signal === term.signal) this.end();
    await this.keeper.release([POLLER_LEASE]);
  }

  async stop(): Promise<void> {
    this.end();
    await this.keeper.stop();
  }

  private begin(token: number): PollTerm {
    const controller = new AbortController();
    this.current = { controller, token };
    const session = this.options.session;
    const lost = (error: LeaseLostError) => this.lost(error.message, controller);
    return {
      signal: controller.signal,
      *fence() {
        if (!session.inTransaction) throw new Error("the poller lease is fenced inside the batch's transaction, and there is none");
        try {
          yield* awaited(fenced(session.client as TransactionSql, POLLER_LEASE, token));
        } catch (error) {
          if (error instanceof LeaseLostError) lost(error);
          throw error;
        }
      },
    };
  }

  /** The lease is gone: the term ends at once (its long poll is aborted, nothing more is stored). */
  private lost(why: string, term = this.current?.controller): void {
    if (this.current === undefined || this.current.controller !== term) return;
    this.options.log.warn("polling: lost the poller lease; stopped polling (another instance takes over)", { reason: why, token: this.current.token });
    this.end();
  }

  private end(): void {
    this.current?.controller.abort(new Error("this instance no longer holds the poller lease"));
    this.current = undefined;
  }
}

/** Waits `ms`, or less when `stopping` aborts. */
function pause(clock: Clock, ms: number, stopping: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (stopping.aborted) return resolve();
    const done = () => {
      timer.cancel();
      stopping.removeEventListener("abort", done);
      resolve();
    };
    const timer = clock.setTimeout(done, ms);
    stopping.addEventListener("abort", done, { once: true });
  });
}

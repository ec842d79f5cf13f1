import type { Sql, TransactionSql } from "postgres";
import type { Clock } from "../../clock.ts";

/**
 * Named leases with fencing tokens (docs/several-instances.md): a chat, or the poller, belongs to
 * one instance until its lease expires. Times are Unix ms from the caller's clock, each statement
 * is one round trip, and every lock a statement takes on `leases` rows is taken in name order, so
 * instances taking, renewing and releasing at once never deadlock one another.
 *
 * Fencing relies on two lock strengths. `fenced` holds the lease row FOR KEY SHARE until its
 * transaction ends. A renewal only moves `expires_at` (FOR NO KEY UPDATE, which does not wait for
 * it), while a takeover also sets the key column `name` to itself, which makes PostgreSQL lock the
 * row FOR UPDATE and so wait for every fenced transaction still open: a paused holder's writes are
 * either committed before the new holder gets its token, or refused.
 */

/** The lease passed on since `token` was handed out (or its row was pruned): the transaction must roll back. */
export class LeaseLostError extends Error {
  override name = "LeaseLostError";
  constructor(
    readonly lease: string,
    readonly token: number,
    /** The lease's token now; undefined when it has no row. */
    readonly currentToken: number | undefined,
  ) {
    super(
      currentToken === undefined
        ? `the lease ${lease} (token ${token}) is no longer held: its row is gone or was never there`
        : `the lease ${lease} (token ${token}) passed on to token ${currentToken}`,
    );
  }
}

interface LeaseRow {
  name: string;
  token: number;
}

function checkTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`a lease's ttlMs must be a positive whole number of ms, got ${ttlMs}`);
}

/** Distinct names in sorted order: one row per name in a statement, and locks in name order. */
function sortedNames(names: Iterable<string>): string[] {
  return [...new Set(names)].sort();
}

export class Leases {
  constructor(
    private readonly sql: Sql,
    private readonly clock: Clock,
  ) {}

  /**
   * Takes `name` for `holder` until now + ttlMs when it is free, expired, or already the holder's;
   * resolves to its fencing token, or undefined while another holder's lease is live. A take of
   * a free or expired lease gets a new, higher token (also when the expired lease was the
   * holder's own: what it did under the old token is fenced off); re-taking a live lease of one's
   * own keeps its token and never shortens it (it waits for one's own fenced transactions on it).
   */
  async take(name: string, holder: string, ttlMs: number): Promise<number | undefined> {
    return (await this.takeMany([name], holder, ttlMs)).get(name);
  }

  /** `take` for many names in one statement: resolves to the names it got, with their tokens. */
  async takeMany(names: Iterable<string>, holder: string, ttlMs: number): Promise<Map<string, number>> {
    checkTtl(ttlMs);
    const wanted = sortedNames(names);
    if (wanted.length === 0) return new Map();
    const now = this.clock.now();
    const until = now + ttlMs;
    // Live leases of other holders are filtered out before the INSERT, so a claim never locks
    // (and never waits on) a lease it cannot get. `name = EXCLUDED.name` is what makes the
    // takeover wait for fenced transactions (see the top of this file).
    const rows = await this.sql<LeaseRow[]>`
      INSERT INTO leases (name, holder, token, expires_at)
      SELECT wanted.name, ${holder}, nextval('lease_tokens'), ${until}::bigint
      FROM unnest(${this.sql.array(wanted)}::text[]) AS wanted(name)
      WHERE NOT EXISTS (
        SELECT 1 FROM leases AS live
        WHERE live.name = wanted.name AND live.holder <> ${holder} AND live.expires_at > ${now}::bigint
      )
      ORDER BY wanted.name
      ON CONFLICT (name) DO UPDATE SET
        name = EXCLUDED.name,
        holder = EXCLUDED.holder,
        token = CASE WHEN leases.holder = EXCLUDED.holder AND leases.expires_at > ${now}::bigint THEN leases.token ELSE EXCLUDED.token END,
        expires_at = GREATEST(leases.expires_at, EXCLUDED.expires_at)
      WHERE leases.expires_at <= ${now}::bigint OR leases.holder = EXCLUDED.holder
      RETURNING name, token`;
    return new Map(rows.map((r) => [r.name, r.token]));
  }

  /**
   * Moves every live lease `holder` holds to now + ttlMs (never earlier than it was) in one
   * statement; resolves to the leases it still holds, with their tokens. A lease that expired
   * is not renewed, even if no one took it: its holder must take it again, with a new token.
   */
  async renew(holder: string, ttlMs: number): Promise<Map<string, number>> {
    checkTtl(ttlMs);
    const now = this.clock.now();
    const until = now + ttlMs;
    const rows = await this.sql<LeaseRow[]>`
      UPDATE leases SET expires_at = GREATEST(leases.expires_at, ${until}::bigint)
      FROM (
        SELECT name FROM leases
        WHERE holder = ${holder} AND expires_at > ${now}::bigint
        ORDER BY name
        FOR NO KEY UPDATE
      ) AS mine
      WHERE leases.name = mine.name AND leases.holder = ${holder}
      RETURNING leases.name, leases.token`;
    return new Map(rows.map((r) => [r.name, r.token]));
  }

  /**
   * Lets go of the holder's leases among `names`: they expire at once, so the next take, by
   * anyone, gets a new token. The rows stay (with whatever per-chat state they carry) until
   * `prune`. Resolves to the names it released.
   */
  async release(names: Iterable<string>, holder: string): Promise<string[]> {
    const released = sortedNames(names);
    if (released.length === 0) return [];
    const rows = await this.sql<{ name: string }[]>`
      UPDATE leases SET expires_at = 0
      FROM (
        SELECT name FROM leases
        WHERE name = ANY(${this.sql.array(released)}::text[]) AND holder = ${holder}
        ORDER BY name
        FOR NO KEY UPDATE
      ) AS mine
      WHERE leases.name = mine.name AND leases.holder = ${holder}
      RETURNING leases.name`;
    return rows.map((r) => r.name).sort();
  }

  /**
   * Deletes the rows of leases expired (or released) for at least `expiredForMs`, skipping any a
   * transaction still has fenced; resolves to how many it deleted. Safe because tokens come from
   * one sequence: a name taken again after its row is gone still gets a higher token.
   */
  async prune(expiredForMs: number): Promise<number> {
    const before = this.clock.now() - expiredForMs;
    const rows = await this.sql`
      DELETE FROM leases
      WHERE name IN (
        SELECT name FROM leases WHERE expires_at <= ${before}::bigint ORDER BY name FOR UPDATE SKIP LOCKED
      )
      RETURNING name`;
    return rows.length;
  }

  /** Who holds `name` and until when (expired leases included), or undefined when no row: for admin reads and tests. */
  async holderOf(name: string): Promise<{ holder: string; token: number; expiresAt: number } | undefined> {
    const [row] = await this.sql<{ holder: string; token: number; expiresAt: number }[]>`
      SELECT holder, token, expires_at AS "expiresAt" FROM leases WHERE name = ${name}`;
    return row;
  }
}

/**
 * Inside a transaction: throws LeaseLostError unless `name` still carries `token`, and keeps it
 * so (the row is locked FOR KEY SHARE) until the transaction ends. Every transaction that writes
 * a leased chat's rows starts with it.
 */
export async function fenced(tx: TransactionSql, name: string, token: number): Promise<void> {
  await fencedAll(tx, new Map([[name, token]]));
}

/** `fenced` for several leases in one statement (a batch touching many chats), locking in name order. */
export async function fencedAll(tx: TransactionSql, tokens: ReadonlyMap<string, number>): Promise<void> {
  if (tokens.size === 0) return;
  const current = await lockedTokens(tx, tokens.keys());
  for (const name of sortedNames(tokens.keys())) {
    const token = tokens.get(name)!;
    if (current.get(name) !== token) throw new LeaseLostError(name, token, current.get(name));
  }
}

/**
 * Inside a transaction: the leases' tokens now, each row locked FOR KEY SHARE (in name order)
 * until the transaction ends, as `fenced` locks them; a name without a row is missing.
 */
export async function lockedTokens(tx: TransactionSql, names: Iterable<string>): Promise<Map<string, number>> {
  const rows = await tx<LeaseRow[]>`
    SELECT name, token FROM leases WHERE name = ANY(${tx.array(sortedNames(names))}::text[]) ORDER BY name FOR KEY SHARE`;
  return new Map(rows.map((r) => [r.name, r.token]));
}

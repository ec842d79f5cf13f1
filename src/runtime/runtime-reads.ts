import type { Clock } from "../clock.ts";
import type { AnyRunReads, RunListFilter, SqliteRunReads } from "./run-reads.ts";

/**
 * The runs as the admin API, the metrics and the janitor read them, typed as the engine answers
 * (at once on SQLite, promises on PostgreSQL). Runtime extends it, so its callers read
 * `runtime.list(…)` while runs.ts keeps to routing, executing and ending runs.
 */
export class RuntimeReads<Reads extends AnyRunReads = SqliteRunReads> {
  constructor(
    /** The admin's reads (synchronous on SQLite, promises on PostgreSQL). */
    readonly reads: Reads,
    private readonly clock: Clock,
  ) {}

  counts(): ReturnType<Reads["counts"]> {
    return this.reads.counts() as ReturnType<Reads["counts"]>;
  }

  /** Runs newest first (optionally of one status and one conversation), with the pending question of waiting runs. */
  list(filter: RunListFilter): ReturnType<Reads["list"]> {
    return this.reads.list(filter) as ReturnType<Reads["list"]>;
  }

  get(runId: number): ReturnType<Reads["get"]> {
    return this.reads.get(runId) as ReturnType<Reads["get"]>;
  }

  /** A run's journal, every step in order (admin). */
  steps(runId: number): ReturnType<Reads["steps"]> {
    return this.reads.steps(runId) as ReturnType<Reads["steps"]>;
  }

  /** Deletes ended runs and their journals older than `olderThanMs`. */
  prune(olderThanMs = 7 * 24 * 3_600_000): ReturnType<Reads["prune"]> {
    return this.reads.prune(this.clock.now() - olderThanMs) as ReturnType<Reads["prune"]>;
  }
}

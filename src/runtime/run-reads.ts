import { and, desc, eq, inArray, lt, sql } from "drizzle-orm";
import { countByStatus } from "../db/count-by-status.ts";
import type { Db } from "../db/index.ts";
import { relaxedTransaction } from "../db/index.ts";
import { runAsync, runSync } from "../db/op.ts";
import type { PgSession } from "../db/pg/session.ts";
import { runs, runSteps, type RunStatus } from "../db/schema.ts";
import type { RunRow, RunStore, StepRow } from "./run-store.ts";

/** `asking`: only waiting runs with a pending question (not those that sleep or wait out a step's backoff). */
export type RunListFilter = { status?: RunStatus; conversation?: string; limit: number; beforeId?: number; asking?: boolean };

/** A run waits on a question: the condition `asking` adds, on either engine (`runs` and `run_steps` by these names). */
const ASKING = `runs.status = 'waiting' AND EXISTS (SELECT 1 FROM run_steps s WHERE s.run_id = runs.id AND s.kind = 'ask' AND s.state = 'waiting')`;
export type ListedRun = RunRow & { pendingQuestion: StepRow | null };

const NO_RUNS: Record<RunStatus, number> = { running: 0, waiting: 0, done: 0, failed: 0, cancelled: 0 };
const ENDED: RunStatus[] = ["done", "failed", "cancelled"];

/** The admin's reads of the runs (and the janitor's prune): synchronous on SQLite. */
export function sqliteRunReads(db: Db, store: RunStore) {
  const withQuestion = (run: RunRow): ListedRun => {
    const pending = run.status === "waiting" ? runSync(store.pendingQuestion(run.id)) : undefined;
    return { ...run, pendingQuestion: pending ?? null };
  };
  return {
    counts: (): Record<RunStatus, number> => countByStatus(db, runs, runs.status, { running: 0, waiting: 0, done: 0, failed: 0, cancelled: 0 }),
    /** Runs newest first, with the pending question of waiting runs. */
    list(filter: RunListFilter): ListedRun[] {
      const conditions = [
        filter.status ? eq(runs.status, filter.status) : undefined,
        filter.conversation !== undefined ? eq(runs.conversation, filter.conversation) : undefined,
        filter.beforeId !== undefined ? lt(runs.id, filter.beforeId) : undefined,
        filter.asking ? sql.raw(ASKING) : undefined,
      ].filter((c) => c !== undefined);
      return db.select().from(runs).where(conditions.length ? and(...conditions) : undefined).orderBy(desc(runs.id)).limit(filter.limit).all().map(withQuestion);
    },
    get: (runId: number): RunRow | undefined => runSync(store.runById(runId)),
    steps: (runId: number): StepRow[] => runSync(store.steps(runId)),
    /** Deletes ended runs and their journals that ended before `cutoff`. */
    prune(cutoff: number): number {
      return relaxedTransaction(db.$client, () => {
        const old = db
          .select({ id: runs.id })
          .from(runs)
          .where(and(inArray(runs.status, ENDED), lt(runs.endedAt, cutoff)))
          .all()
          .map((r) => r.id);
        for (let i = 0; i < old.length; i += 500) {
          const chunk = old.slice(i, i + 500);
          db.delete(runSteps).where(inArray(runSteps.runId, chunk)).run();
          db.delete(runs).where(inArray(runs.id, chunk)).run();
        }
        return old.length;
      });
    },
  };
}

export type SqliteRunReads = ReturnType<typeof sqliteRunReads>;

const RUN_COLUMNS = `id, conversation, chat_id AS "chatId", user_id AS "userId", agent, agent_version AS "agentVersion", status,
  trigger_update_id AS "triggerUpdateId", trigger, error, memory_before AS "memoryBefore", created_at AS "createdAt", updated_at AS "updatedAt", ended_at AS "endedAt"`;

/** The same reads on PostgreSQL, asynchronous. */
export function pgRunReads(session: PgSession, store: RunStore) {
  const sql = session.pool;
  return {
    async counts(): Promise<Record<RunStatus, number>> {
      const out = { ...NO_RUNS };
      for (const row of await sql<{ status: RunStatus; n: number }[]>`SELECT status, count(*)::int AS n FROM runs GROUP BY status`) out[row.status] = row.n;
      return out;
    },
    async list(filter: RunListFilter): Promise<ListedRun[]> {
      const params: unknown[] = [filter.limit];
      const where: string[] = [];
      if (filter.status) where.push(`status = $${params.push(filter.status)}`);
      if (filter.conversation !== undefined) where.push(`conversation = $${params.push(filter.conversation)}`);
      if (filter.beforeId !== undefined) where.push(`id < $${params.push(filter.beforeId)}`);
      if (filter.asking) where.push(ASKING);
      const rows = (await sql.unsafe(`SELECT ${RUN_COLUMNS} FROM runs ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT $1`, params as never[])) as unknown as RunRow[];
      const listed: ListedRun[] = [];
      for (const run of rows) {
        const pending = run.status === "waiting" ? await runAsync(store.pendingQuestion(run.id)) : undefined;
        listed.push({ ...run, pendingQuestion: pending ?? null });
      }
      return listed;
    },
    get: (runId: number): Promise<RunRow | undefined> => runAsync(store.runById(runId)),
    steps: (runId: number): Promise<StepRow[]> => runAsync(store.steps(runId)),
    async prune(cutoff: number): Promise<number> {
      return session.begin(async (tx) => {
        const old = await tx<{ id: number }[]>`DELETE FROM runs WHERE status IN ('done', 'failed', 'cancelled') AND ended_at < ${cutoff} RETURNING id`;
        if (old.length > 0) await tx`DELETE FROM run_steps WHERE run_id = ANY(${old.map((r) => r.id)}::bigint[])`;
        return old.length;
      });
    },
  };
}

export type PgRunReads = ReturnType<typeof pgRunReads>;
/** Either engine's reads, as code serving both sees them. */
export type AnyRunReads = SqliteRunReads | PgRunReads;

import type { PgSession } from "../db/pg/session.ts";
import type { Op } from "../db/op.ts";
import { pgStatements } from "../db/pg/statements.ts";
import type { RunStatus, StepState } from "../db/schema.ts";
import type { JournalEntry } from "./journal.ts";
import { JournalPositionTaken, stepParams, type DueStep, type NewRun, type NewStep, type ParkedRow, type RoutingState, type RunRow, type RunStore, type StepRow } from "./run-store.ts";

/** Every column of `runs`, named as RunRow names them (quoted: PostgreSQL folds bare names to lower case). */
const RUN_COLUMNS = `id, conversation, chat_id AS "chatId", user_id AS "userId", agent, agent_version AS "agentVersion", status,
  trigger_update_id AS "triggerUpdateId", trigger, error, memory_before AS "memoryBefore", created_at AS "createdAt", updated_at AS "updatedAt", ended_at AS "endedAt"`;
const STEP_COLUMNS = `run_id AS "runId", seq, kind, text, state, answer, answer_update_id AS "answerUpdateId", deadline_at AS "deadlineAt",
  result, error, attempts, choices, created_at AS "createdAt", answered_at AS "answeredAt"`;
const ENTRY_COLUMNS = `seq, kind, text AS key, state, result, answer, error, attempts, deadline_at AS "deadlineAt", created_at AS "createdAt"`;

const INSERT_STEP = `INSERT INTO run_steps (run_id, seq, kind, text, state, deadline_at, result, error, attempts, choices, created_at, answered_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`;

/** stepParams in INSERT_STEP's order. */
function stepValues(step: NewStep, now: number): unknown[] {
  const p = stepParams(step, now);
  return [p.runId, p.seq, p.kind, p.text, p.state, p.deadlineAt, p.result, p.error, p.attempts, p.choices, p.createdAt, p.answeredAt];
}

/**
 * The run store on PostgreSQL: the same operations as run-store.ts, each one round trip on the
 * session's connection (the batch's transaction when it runs in one). The SQL is run-store.ts's,
 * with numbered parameters.
 */
export function pgRunStore(session: PgSession): RunStore {
  const { rows, first, count, run } = pgStatements(session);

  return {
    activeRun: (conversation: string) => first<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE conversation = $1 AND status IN ('running', 'waiting') LIMIT 1`, [conversation]),
    runById: (id: number) => first<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1`, [id]),
    // One round trip, always one row: the update's status, beside the conversation's active run (null columns when none).
    *routingState(updateId: number, conversation: string): Op<RoutingState> {
      const { received, ...run } = (yield* first<Omit<RunRow, "id"> & { id: number | null; received: boolean }>(
        `SELECT coalesce(u.status = 'received', false) AS received, r.* FROM (SELECT 1) AS one
         LEFT JOIN updates u ON u.update_id = $1
         LEFT JOIN LATERAL (SELECT ${RUN_COLUMNS} FROM runs WHERE conversation = $2 AND status IN ('running', 'waiting') LIMIT 1) r ON true`,
        [updateId, conversation],
      ))!;
      return { received, active: run.id === null ? undefined : (run as RunRow) };
    },
    runsWithStatus: (status: RunStatus) => rows<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE status = $1 ORDER BY id`, [status]),
    *insertRun(run: NewRun, now: number): Op<RunRow> {
      const inserted = yield* first<RunRow>(
        `INSERT INTO runs (conversation, chat_id, user_id, agent, agent_version, status, trigger_update_id, trigger, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'running', $6, $7, $8, $8) RETURNING ${RUN_COLUMNS}`,
        [run.conversation, run.chatId, run.userId ?? null, run.agent, run.agentVersion ?? null, run.triggerUpdateId, run.trigger, now],
      );
      return inserted!;
    },
    setRunStatus: (id: number, status: RunStatus, now: number) => run(`UPDATE runs SET status = $2, updated_at = $3 WHERE id = $1`, [id, status, now]),
    *endRun(id: number, status: RunStatus, error: string | null, now: number): Op<boolean> {
      return (yield* count(`UPDATE runs SET status = $2, error = $3, updated_at = $4, ended_at = $4 WHERE id = $1 AND status IN ('running', 'waiting')`, [id, status, error, now])) > 0;
    },
    keepMemoryBefore: (id: number, memory: string) => run(`UPDATE runs SET memory_before = $2 WHERE id = $1 AND memory_before IS NULL`, [id, memory]),

    journal: (runId: number) => rows<JournalEntry>(`SELECT ${ENTRY_COLUMNS} FROM run_steps WHERE run_id = $1 ORDER BY seq`, [runId]),
    steps: (runId: number) => rows<StepRow>(`SELECT ${STEP_COLUMNS} FROM run_steps WHERE run_id = $1 ORDER BY seq`, [runId]),
    stepAt: (runId: number, seq: number) => first<StepRow>(`SELECT ${STEP_COLUMNS} FROM run_steps WHERE run_id = $1 AND seq = $2`, [runId, seq]),
    pendingQuestion: (runId: number) => first<StepRow>(`SELECT ${STEP_COLUMNS} FROM run_steps WHERE run_id = $1 AND kind = 'ask' AND state = 'waiting' ORDER BY seq LIMIT 1`, [runId]),
    insertStep: (step: NewStep, now: number) => run(INSERT_STEP, stepValues(step, now)),
    *recordStep(step: NewStep, now: number): Op<void> {
      const changed = yield* count(
        `${INSERT_STEP} ON CONFLICT (run_id, seq) DO UPDATE SET state = excluded.state, deadline_at = excluded.deadline_at, result = excluded.result,
           error = excluded.error, attempts = excluded.attempts, answered_at = excluded.answered_at
         WHERE run_steps.kind = 'step' AND run_steps.state = 'retrying'`,
        stepValues(step, now),
      );
      if (changed === 0) throw new JournalPositionTaken(step.runId, step.seq);
    },
    *settleStep(runId: number, seq: number, state: StepState, now: number, answer: { text: string; updateId: number } | null = null): Op<boolean> {
      const changed = yield* count(
        `UPDATE run_steps SET state = $3, answer = $4, answer_update_id = $5, answered_at = $6 WHERE run_id = $1 AND seq = $2 AND state = 'waiting'`,
        [runId, seq, state, answer?.text ?? null, answer?.updateId ?? null, now],
      );
      return changed > 0;
    },
    cancelWaitingSteps: (runId: number) => run(`UPDATE run_steps SET state = 'cancelled' WHERE run_id = $1 AND state IN ('waiting', 'retrying')`, [runId]),
    // As on SQLite: a retrying step's next attempt is a deadline only while its run waits out the backoff.
    *nextDeadline(chats?: readonly number[]): Op<number | undefined> {
      const row = chats
        ? yield* first<{ at: number | null }>(
            `SELECT min(s.deadline_at) AS at FROM run_steps s JOIN runs r ON r.id = s.run_id
             WHERE s.state IN ('waiting', 'retrying') AND (s.state = 'waiting' OR r.status = 'waiting') AND r.chat_id = ANY($1::bigint[])`,
            [chats],
          )
        : yield* first<{ at: number | null }>(
            `SELECT min(at) AS at FROM (SELECT min(deadline_at) AS at FROM run_steps WHERE state = 'waiting'
               UNION ALL SELECT min(s.deadline_at) FROM run_steps s JOIN runs r ON r.id = s.run_id WHERE s.state = 'retrying' AND r.status = 'waiting') deadlines`,
          );
      return row?.at ?? undefined;
    },
    dueSteps: (now: number, limit: number, chats?: readonly number[]) =>
      rows<DueStep>(
        `SELECT s.run_id AS "runId", s.seq, s.kind, r.chat_id AS "chatId" FROM run_steps s JOIN runs r ON r.id = s.run_id
         WHERE s.state IN ('waiting', 'retrying') AND s.deadline_at <= $1 AND (s.state = 'waiting' OR r.status = 'waiting')
         ${chats ? "AND r.chat_id = ANY($3::bigint[])" : ""} ORDER BY s.deadline_at LIMIT $2`,
        chats ? [now, limit, chats] : [now, limit],
      ),
    *wakeRun(id: number, now: number): Op<boolean> {
      return (yield* count(`UPDATE runs SET status = 'running', updated_at = $2 WHERE id = $1 AND status = 'waiting'`, [id, now])) > 0;
    },
    *runAgain(id: number, now: number): Op<boolean> {
      return (yield* count(`UPDATE runs SET status = 'running', updated_at = $2 WHERE id = $1 AND status IN ('running', 'waiting')`, [id, now])) > 0;
    },
    activeRunsOfChat: (chatId: number) => rows<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE chat_id = $1 AND status IN ('running', 'waiting') ORDER BY id`, [chatId]),
    *activeConversations(): Op<string[]> {
      return (yield* rows<{ conversation: string }>(`SELECT DISTINCT conversation FROM runs WHERE status IN ('running', 'waiting')`)).map((row) => row.conversation);
    },
    *parkedConversationsOfChat(chatId: number): Op<string[]> {
      return (
        yield* rows<{ conversation: string }>(`SELECT DISTINCT p.conversation FROM parked_updates p JOIN updates u ON u.update_id = p.update_id WHERE u.chat_id = $1`, [chatId])
      ).map((row) => row.conversation);
    },

    *memory(conversation: string): Op<string | undefined> {
      return (yield* first<{ value: string }>(`SELECT value FROM memories WHERE conversation = $1`, [conversation]))?.value;
    },
    setMemory: (conversation: string, value: string, now: number) =>
      run(
        `INSERT INTO memories (conversation, value, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (conversation) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        [conversation, value, now],
      ),

    park: (updateId: number, conversation: string, now: number) =>
      run(`INSERT INTO parked_updates (update_id, conversation, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [updateId, conversation, now]),
    nextParked: (conversation: string) =>
      first<ParkedRow>(`SELECT update_id AS "updateId", conversation, created_at AS "createdAt" FROM parked_updates WHERE conversation = $1 ORDER BY update_id LIMIT 1`, [
        conversation,
      ]),
    *parkedConversations(): Op<string[]> {
      return (yield* rows<{ conversation: string }>(`SELECT DISTINCT conversation FROM parked_updates`)).map((row) => row.conversation);
    },
    unpark: (updateId: number) => run(`DELETE FROM parked_updates WHERE update_id = $1`, [updateId]),
  };
}

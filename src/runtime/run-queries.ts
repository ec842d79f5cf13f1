import type { Statement } from "bun:sqlite";
import type { Db } from "../db/index.ts";
import type { parkedUpdates, runs, runSteps, RunStatus, StepState } from "../db/schema.ts";

export type RunRow = typeof runs.$inferSelect;
export type StepRow = typeof runSteps.$inferSelect;
export type NewRun = typeof runs.$inferInsert;
export type NewStep = typeof runSteps.$inferInsert;
export type ParkedRow = typeof parkedUpdates.$inferSelect;

export const ACTIVE: RunStatus[] = ["running", "waiting"];

/** Every column of `runs`, named as Drizzle's RunRow names them. */
const RUN_COLUMNS = `id, conversation, chat_id AS chatId, user_id AS userId, agent, status, trigger_update_id AS triggerUpdateId,
  trigger, error, created_at AS createdAt, updated_at AS updatedAt, ended_at AS endedAt`;
/** Every column of `run_steps`, named as Drizzle's StepRow names them. */
const STEP_COLUMNS = `run_id AS runId, seq, kind, text, state, answer, answer_update_id AS answerUpdateId, deadline_at AS deadlineAt,
  created_at AS createdAt, answered_at AS answeredAt`;

/**
 * The runtime's queries on its tables (runs, run_steps, parked_updates), prepared once as raw
 * bun:sqlite statements: every update routed and every step of a run uses several, and Drizzle's
 * prepared queries cost ~4x more per call than the statement they run (row mapping, param
 * building). The SQL names columns as the schema's Drizzle types do, so rows keep those types.
 */
export function prepareRunQueries(db: Db) {
  const sqlite = db.$client;
  const activeRun: Statement<RunRow, [{ conversation: string }]> = sqlite.prepare(
    `SELECT ${RUN_COLUMNS} FROM runs WHERE conversation = $conversation AND status IN ('running', 'waiting') LIMIT 1`,
  );
  const runById: Statement<RunRow, [{ id: number }]> = sqlite.prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = $id`);
  const insertRun: Statement<
    RunRow,
    [{ conversation: string; chatId: number; userId: number | null; agent: string; triggerUpdateId: number; trigger: string; now: number }]
  > = sqlite.prepare(
    `INSERT INTO runs (conversation, chat_id, user_id, agent, status, trigger_update_id, trigger, created_at, updated_at)
     VALUES ($conversation, $chatId, $userId, $agent, 'running', $triggerUpdateId, $trigger, $now, $now) RETURNING ${RUN_COLUMNS}`,
  );
  const setRunStatus: Statement<unknown, [{ id: number; status: RunStatus; now: number }]> = sqlite.prepare(
    `UPDATE runs SET status = $status, updated_at = $now WHERE id = $id`,
  );
  const endRun: Statement<unknown, [{ id: number; status: RunStatus; error: string | null; now: number }]> = sqlite.prepare(
    `UPDATE runs SET status = $status, error = $error, updated_at = $now, ended_at = $now WHERE id = $id`,
  );

  const journal: Statement<StepRow, [{ runId: number }]> = sqlite.prepare(`SELECT ${STEP_COLUMNS} FROM run_steps WHERE run_id = $runId ORDER BY seq`);
  const stepAt: Statement<StepRow, [{ runId: number; seq: number }]> = sqlite.prepare(
    `SELECT ${STEP_COLUMNS} FROM run_steps WHERE run_id = $runId AND seq = $seq`,
  );
  const pendingStep: Statement<StepRow, [{ runId: number }]> = sqlite.prepare(
    `SELECT ${STEP_COLUMNS} FROM run_steps WHERE run_id = $runId AND state = 'waiting' LIMIT 1`,
  );
  const insertStep: Statement<
    unknown,
    [{ runId: number; seq: number; kind: NewStep["kind"]; text: string; state: StepState; deadlineAt: number | null; now: number }]
  > = sqlite.prepare(
    `INSERT INTO run_steps (run_id, seq, kind, text, state, deadline_at, created_at) VALUES ($runId, $seq, $kind, $text, $state, $deadlineAt, $now)`,
  );
  const settleStep: Statement<
    unknown,
    [{ runId: number; seq: number; state: StepState; answer: string | null; answerUpdateId: number | null; now: number }]
  > = sqlite.prepare(
    `UPDATE run_steps SET state = $state, answer = $answer, answer_update_id = $answerUpdateId, answered_at = $now WHERE run_id = $runId AND seq = $seq`,
  );
  const cancelWaitingSteps: Statement<unknown, [{ runId: number }]> = sqlite.prepare(
    `UPDATE run_steps SET state = 'cancelled' WHERE run_id = $runId AND state = 'waiting'`,
  );

  const park: Statement<unknown, [{ updateId: number; conversation: string; now: number }]> = sqlite.prepare(
    `INSERT INTO parked_updates (update_id, conversation, created_at) VALUES ($updateId, $conversation, $now) ON CONFLICT DO NOTHING`,
  );
  const nextParked: Statement<ParkedRow, [{ conversation: string }]> = sqlite.prepare(
    `SELECT update_id AS updateId, conversation, created_at AS createdAt FROM parked_updates WHERE conversation = $conversation ORDER BY update_id LIMIT 1`,
  );
  const unpark: Statement<unknown, [{ updateId: number }]> = sqlite.prepare(`DELETE FROM parked_updates WHERE update_id = $updateId`);

  return {
    activeRun: (conversation: string): RunRow | undefined => activeRun.get({ conversation }) ?? undefined,
    runById: (id: number): RunRow | undefined => runById.get({ id }) ?? undefined,
    insertRun: (run: Pick<NewRun, "conversation" | "chatId" | "userId" | "agent" | "triggerUpdateId" | "trigger">, now: number): RunRow =>
      insertRun.get({
        conversation: run.conversation,
        chatId: run.chatId,
        userId: run.userId ?? null,
        agent: run.agent,
        triggerUpdateId: run.triggerUpdateId,
        trigger: run.trigger,
        now,
      })!,
    setRunStatus: (id: number, status: RunStatus, now: number) => void setRunStatus.run({ id, status, now }),
    endRun: (id: number, status: RunStatus, error: string | null, now: number) => void endRun.run({ id, status, error, now }),

    journal: (runId: number): StepRow[] => journal.all({ runId }),
    stepAt: (runId: number, seq: number): StepRow | undefined => stepAt.get({ runId, seq }) ?? undefined,
    pendingStep: (runId: number): StepRow | undefined => pendingStep.get({ runId }) ?? undefined,
    insertStep: (step: Pick<NewStep, "runId" | "seq" | "kind" | "text" | "state"> & { deadlineAt?: number | null }, now: number) =>
      void insertStep.run({ runId: step.runId, seq: step.seq, kind: step.kind, text: step.text, state: step.state, deadlineAt: step.deadlineAt ?? null, now }),
    settleStep: (runId: number, seq: number, state: StepState, now: number, answer: { text: string; updateId: number } | null = null) =>
      void settleStep.run({ runId, seq, state, now, answer: answer?.text ?? null, answerUpdateId: answer?.updateId ?? null }),
    cancelWaitingSteps: (runId: number) => void cancelWaitingSteps.run({ runId }),

    park: (updateId: number, conversation: string, now: number) => void park.run({ updateId, conversation, now }),
    nextParked: (conversation: string): ParkedRow | undefined => nextParked.get({ conversation }) ?? undefined,
    unpark: (updateId: number) => void unpark.run({ updateId }),
  };
}

export type RunQueries = ReturnType<typeof prepareRunQueries>;

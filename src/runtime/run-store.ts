import type { Database, Statement } from "bun:sqlite";
import { ACTIVE_RUN_STATUSES, type parkedUpdates, type runs, type runSteps, type RunStatus, type StepKind, type StepState } from "../db/schema.ts";
import { done, type Op } from "../db/op.ts";
import type { JournalEntry } from "./journal.ts";

export type RunRow = typeof runs.$inferSelect;
export type StepRow = typeof runSteps.$inferSelect;
export type NewRun = Pick<typeof runs.$inferInsert, "conversation" | "chatId" | "userId" | "agent" | "agentVersion" | "triggerUpdateId" | "trigger">;
export type ParkedRow = typeof parkedUpdates.$inferSelect;

export const ACTIVE: readonly RunStatus[] = ACTIVE_RUN_STATUSES;

/** A question or sleep whose deadline has passed. */
export interface DueStep {
  runId: number;
  seq: number;
  kind: StepKind;
  chatId: number;
}

/** A new journal entry; what is not given is null. */
export interface NewStep {
  runId: number;
  seq: number;
  kind: StepKind;
  text: string;
  state: StepState;
  deadlineAt?: number | null;
  result?: string | null;
  error?: string | null;
  attempts?: number | null;
  choices?: string | null;
  /** When the entry's work began (a step's first attempt); defaults to `now`. */
  startedAt?: number;
  /** When it finished (a step, a reply); null for a question or a sleep until it settles. */
  finishedAt?: number | null;
}

type StepParams = Required<Omit<NewStep, "startedAt" | "finishedAt">> & { createdAt: number; answeredAt: number | null };

/** A new entry's statement parameters: what is not given is null. */
export function stepParams(step: NewStep, now: number): StepParams {
  return {
    runId: step.runId,
    seq: step.seq,
    kind: step.kind,
    text: step.text,
    state: step.state,
    deadlineAt: step.deadlineAt ?? null,
    result: step.result ?? null,
    error: step.error ?? null,
    attempts: step.attempts ?? null,
    choices: step.choices ?? null,
    createdAt: step.startedAt ?? now,
    answeredAt: step.finishedAt === undefined ? now : step.finishedAt,
  };
}

/** A step record found its journal position held by an entry that is not a retrying step (a bug, never retried). */
export class JournalPositionTaken extends Error {
  override name = "JournalPositionTaken";
  constructor(runId: number, seq: number) {
    super(`run ${runId}: journal position ${seq} is already taken by another entry`);
  }
}

/** Every column of `runs`, named as Drizzle's RunRow names them. */
const RUN_COLUMNS = `id, conversation, chat_id AS chatId, user_id AS userId, agent, agent_version AS agentVersion, status,
  trigger_update_id AS triggerUpdateId, trigger, error, memory_before AS memoryBefore, created_at AS createdAt, updated_at AS updatedAt, ended_at AS endedAt`;
/** Every column of `run_steps`, named as Drizzle's StepRow names them. */
const STEP_COLUMNS = `run_id AS runId, seq, kind, text, state, answer, answer_update_id AS answerUpdateId, deadline_at AS deadlineAt,
  result, error, attempts, choices, created_at AS createdAt, answered_at AS answeredAt`;
/** A journal entry as the replay core reads it. */
const ENTRY_COLUMNS = `seq, kind, text AS key, state, result, answer, error, attempts, deadline_at AS deadlineAt, created_at AS createdAt`;

/**
 * The runtime's SQL on its tables (runs, run_steps, memories, parked_updates), prepared once as
 * raw bun:sqlite statements: every update routed and every step of a run uses several, and
 * Drizzle's prepared queries cost ~4x more per call than the statement they run. The SQL names
 * columns as the schema's Drizzle types do, so rows keep those types. Each method is an Op
 * (db/op.ts) that returns at once: this is the seam another storage engine implements.
 */
export function prepareRunStore(sqlite: Database) {
  const activeRun: Statement<RunRow, [{ conversation: string }]> = sqlite.prepare(
    `SELECT ${RUN_COLUMNS} FROM runs WHERE conversation = $conversation AND status IN ('running', 'waiting') LIMIT 1`,
  );
  const runById: Statement<RunRow, [{ id: number }]> = sqlite.prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = $id`);
  const updateStatus: Statement<{ status: string }, [{ updateId: number }]> = sqlite.prepare(`SELECT status FROM updates WHERE update_id = $updateId`);
  const runsWithStatus: Statement<RunRow, [{ status: RunStatus }]> = sqlite.prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE status = $status ORDER BY id`);
  const insertRun: Statement<unknown, [Required<{ [K in keyof NewRun]: NonNullable<NewRun[K]> | null }> & { now: number }]> = sqlite.prepare(
    `INSERT INTO runs (conversation, chat_id, user_id, agent, agent_version, status, trigger_update_id, trigger, created_at, updated_at)
     VALUES ($conversation, $chatId, $userId, $agent, $agentVersion, 'running', $triggerUpdateId, $trigger, $now, $now)`,
  );
  const setRunStatus: Statement<unknown, [{ id: number; status: RunStatus; now: number }]> = sqlite.prepare(
    `UPDATE runs SET status = $status, updated_at = $now WHERE id = $id`,
  );
  const endRun: Statement<unknown, [{ id: number; status: RunStatus; error: string | null; now: number }]> = sqlite.prepare(
    `UPDATE runs SET status = $status, error = $error, updated_at = $now, ended_at = $now WHERE id = $id AND status IN ('running', 'waiting')`,
  );
  const keepMemoryBefore: Statement<unknown, [{ id: number; memory: string }]> = sqlite.prepare(
    `UPDATE runs SET memory_before = $memory WHERE id = $id AND memory_before IS NULL`,
  );

  // The CASTs in the statements with an ORDER BY below: SQLite (3.54.1 in Bun 1.4.5) looks at the
  // value of a bound `column = $param` when it plans such a statement, so binding a new value
  // re-prepares it at every run (3.3–3.6 µs a call); behind a CAST it does not (0.2–0.3 µs), and
  // the plan, with its index and order, is the same.
  const journal: Statement<JournalEntry, [{ runId: number }]> = sqlite.prepare(`SELECT ${ENTRY_COLUMNS} FROM run_steps WHERE run_id = CAST($runId AS INTEGER) ORDER BY seq`);
  const steps: Statement<StepRow, [{ runId: number }]> = sqlite.prepare(`SELECT ${STEP_COLUMNS} FROM run_steps WHERE run_id = CAST($runId AS INTEGER) ORDER BY seq`);
  const stepAt: Statement<StepRow, [{ runId: number; seq: number }]> = sqlite.prepare(
    `SELECT ${STEP_COLUMNS} FROM run_steps WHERE run_id = $runId AND seq = $seq`,
  );
  const pendingQuestion: Statement<StepRow, [{ runId: number }]> = sqlite.prepare(
    `SELECT ${STEP_COLUMNS} FROM run_steps WHERE run_id = $runId AND kind = 'ask' AND state = 'waiting' ORDER BY seq LIMIT 1`,
  );
  const insertStep: Statement<unknown, [StepParams]> = sqlite.prepare(
    `INSERT INTO run_steps (run_id, seq, kind, text, state, deadline_at, result, error, attempts, choices, created_at, answered_at)
     VALUES ($runId, $seq, $kind, $text, $state, $deadlineAt, $result, $error, $attempts, $choices, $createdAt, $answeredAt)`,
  );
  // A step's record: a new one, or the one its earlier failed attempts left (a step is only ever retrying until it ends).
  const recordStep: Statement<unknown, [StepParams]> = sqlite.prepare(
    `INSERT INTO run_steps (run_id, seq, kind, text, state, deadline_at, result, error, attempts, choices, created_at, answered_at)
     VALUES ($runId, $seq, $kind, $text, $state, $deadlineAt, $result, $error, $attempts, $choices, $createdAt, $answeredAt)
     ON CONFLICT (run_id, seq) DO UPDATE SET state = excluded.state, deadline_at = excluded.deadline_at, result = excluded.result,
       error = excluded.error, attempts = excluded.attempts, answered_at = excluded.answered_at
     WHERE run_steps.kind = 'step' AND run_steps.state = 'retrying'`,
  );
  const settleStep: Statement<
    unknown,
    [{ runId: number; seq: number; state: StepState; answer: string | null; answerUpdateId: number | null; now: number }]
  > = sqlite.prepare(
    `UPDATE run_steps SET state = $state, answer = $answer, answer_update_id = $answerUpdateId, answered_at = $now WHERE run_id = $runId AND seq = $seq AND state = 'waiting'`,
  );
  const cancelWaitingSteps: Statement<unknown, [{ runId: number }]> = sqlite.prepare(
    `UPDATE run_steps SET state = 'cancelled' WHERE run_id = $runId AND state IN ('waiting', 'retrying')`,
  );
  // Deadlines: a question's timeout, a sleep's end, and the next attempt of a step whose run waits
  // out its backoff (a retrying step of a run still executing, or ended, has none). Each part of
  // the min() is one index lookup, however many runs wait.
  const nextDeadline: Statement<{ at: number | null }, []> = sqlite.prepare(
    `SELECT min(at) AS at FROM (SELECT min(deadline_at) AS at FROM run_steps WHERE state = 'waiting'
       UNION ALL SELECT min(s.deadline_at) FROM run_steps s JOIN runs r ON r.id = s.run_id WHERE s.state = 'retrying' AND r.status = 'waiting')`,
  );
  const dueSteps: Statement<DueStep, [{ now: number; limit: number }]> = sqlite.prepare(
    `SELECT s.run_id AS runId, s.seq, s.kind, r.chat_id AS chatId FROM run_steps s JOIN runs r ON r.id = s.run_id
     WHERE s.state IN ('waiting', 'retrying') AND s.deadline_at <= $now AND (s.state = 'waiting' OR r.status = 'waiting') ORDER BY s.deadline_at LIMIT $limit`,
  );
  const wakeRun: Statement<unknown, [{ id: number; now: number }]> = sqlite.prepare(`UPDATE runs SET status = 'running', updated_at = $now WHERE id = $id AND status = 'waiting'`);
  const runAgain: Statement<unknown, [{ id: number; now: number }]> = sqlite.prepare(`UPDATE runs SET status = 'running', updated_at = $now WHERE id = $id AND status IN ('running', 'waiting')`);
  const activeRunsOfChat: Statement<RunRow, [{ chatId: number }]> = sqlite.prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE chat_id = $chatId AND status IN ('running', 'waiting') ORDER BY id`);
  const parkedOfChat: Statement<{ conversation: string }, [{ chatId: number }]> = sqlite.prepare(
    `SELECT DISTINCT p.conversation FROM parked_updates p JOIN updates u ON u.update_id = p.update_id WHERE u.chat_id = $chatId`,
  );

  const memory: Statement<{ value: string }, [{ conversation: string }]> = sqlite.prepare(`SELECT value FROM memories WHERE conversation = $conversation`);
  const setMemory: Statement<unknown, [{ conversation: string; value: string; now: number }]> = sqlite.prepare(
    `INSERT INTO memories (conversation, value, updated_at) VALUES ($conversation, $value, $now)
     ON CONFLICT (conversation) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
  );

  const park: Statement<unknown, [{ updateId: number; conversation: string; now: number }]> = sqlite.prepare(
    `INSERT INTO parked_updates (update_id, conversation, created_at) VALUES ($updateId, $conversation, $now) ON CONFLICT DO NOTHING`,
  );
  const nextParked: Statement<ParkedRow, [{ conversation: string }]> = sqlite.prepare(
    `SELECT update_id AS updateId, conversation, created_at AS createdAt FROM parked_updates WHERE conversation = CAST($conversation AS TEXT) ORDER BY update_id LIMIT 1`,
  );
  const parkedConversations: Statement<{ conversation: string }, []> = sqlite.prepare(`SELECT DISTINCT conversation FROM parked_updates`);
  const activeConversations: Statement<{ conversation: string }, []> = sqlite.prepare(`SELECT DISTINCT conversation FROM runs WHERE status IN ('running', 'waiting')`);
  const unpark: Statement<unknown, [{ updateId: number }]> = sqlite.prepare(`DELETE FROM parked_updates WHERE update_id = $updateId`);

  return {
    activeRun: (conversation: string): Op<RunRow | undefined> => done(activeRun.get({ conversation }) ?? undefined),
    runById: (id: number): Op<RunRow | undefined> => done(runById.get({ id }) ?? undefined),
    /**
     * What routing an update reads first where several instances share the database: whether the
     * update is still received (not routed already), and its conversation's active run.
     */
    routingState: (updateId: number, conversation: string): Op<RoutingState> =>
      done({ received: updateStatus.get({ updateId })?.status === "received", active: activeRun.get({ conversation }) ?? undefined }),
    runsWithStatus: (status: RunStatus): Op<RunRow[]> => done(runsWithStatus.all({ status })),
    *insertRun(run: NewRun, now: number): Op<RunRow> {
      const row = {
        conversation: run.conversation,
        chatId: run.chatId,
        userId: run.userId ?? null,
        agent: run.agent,
        agentVersion: run.agentVersion ?? null,
        triggerUpdateId: run.triggerUpdateId,
        trigger: run.trigger,
      };
      // The row as inserted, from what was written: RETURNING all columns cost 8 µs a run, a plain insert 3.
      const id = Number(insertRun.run({ ...row, now }).lastInsertRowid);
      return { id, ...row, status: "running", error: null, memoryBefore: null, createdAt: now, updatedAt: now, endedAt: null };
    },
    setRunStatus: (id: number, status: RunStatus, now: number): Op<void> => done(void setRunStatus.run({ id, status, now })),
    /** Ends a run still running or waiting; false when it had ended already (a cancel and the run's own end racing). */
    endRun: (id: number, status: RunStatus, error: string | null, now: number): Op<boolean> => done(endRun.run({ id, status, error, now }).changes > 0),
    /** Keeps the memory a run started with, the first time it remembers something (later calls change nothing). */
    keepMemoryBefore: (id: number, memory: string): Op<void> => done(void keepMemoryBefore.run({ id, memory })),

    journal: (runId: number): Op<JournalEntry[]> => done(journal.all({ runId })),
    steps: (runId: number): Op<StepRow[]> => done(steps.all({ runId })),
    stepAt: (runId: number, seq: number): Op<StepRow | undefined> => done(stepAt.get({ runId, seq }) ?? undefined),
    /** The question a waiting run waits on (the first, when it asked several at once): not a sleep or a step beside it. */
    pendingQuestion: (runId: number): Op<StepRow | undefined> => done(pendingQuestion.get({ runId }) ?? undefined),
    insertStep: (step: NewStep, now: number): Op<void> => done(void insertStep.run(stepParams(step, now))),
    /** A ctx.step's record (retrying between attempts, then done or failed), replacing its retrying one. */
    // eslint-disable-next-line require-yield
    *recordStep(step: NewStep, now: number): Op<void> {
      if (recordStep.run(stepParams(step, now)).changes === 0) throw new JournalPositionTaken(step.runId, step.seq);
    },
    /** Settles a waiting question or sleep; false when it was no longer waiting. */
    settleStep: (runId: number, seq: number, state: StepState, now: number, answer: { text: string; updateId: number } | null = null): Op<boolean> =>
      done(settleStep.run({ runId, seq, state, now, answer: answer?.text ?? null, answerUpdateId: answer?.updateId ?? null }).changes > 0),
    cancelWaitingSteps: (runId: number): Op<void> => done(void cancelWaitingSteps.run({ runId })),
    /** A waiting run runs again (its step's backoff ended); false when it was no longer waiting. */
    wakeRun: (id: number, now: number): Op<boolean> => done(wakeRun.run({ id, now }).changes > 0),
    /** A run whose question timed out or whose sleep ended runs again; false when it has ended (a sleep it never awaited). */
    runAgain: (id: number, now: number): Op<boolean> => done(runAgain.run({ id, now }).changes > 0),
    /** The earliest deadline of a waiting question, sleep or step backoff (`chats`: only theirs; SQLite's one instance has them all). */
    nextDeadline: (_chats?: readonly number[]): Op<number | undefined> => done(nextDeadline.get()?.at ?? undefined),
    dueSteps: (now: number, limit: number, _chats?: readonly number[]): Op<DueStep[]> => done(dueSteps.all({ now, limit })),
    /** A chat's running and waiting runs (an instance taking the chat over resumes them). */
    activeRunsOfChat: (chatId: number): Op<RunRow[]> => done(activeRunsOfChat.all({ chatId })),
    /** Every conversation with a running or waiting run. */
    activeConversations: (): Op<string[]> => done(activeConversations.all().map((row) => row.conversation)),
    parkedConversationsOfChat: (chatId: number): Op<string[]> => done(parkedOfChat.all({ chatId }).map((row) => row.conversation)),

    memory: (conversation: string): Op<string | undefined> => done(memory.get({ conversation })?.value),
    setMemory: (conversation: string, value: string, now: number): Op<void> => done(void setMemory.run({ conversation, value, now })),

    park: (updateId: number, conversation: string, now: number): Op<void> => done(void park.run({ updateId, conversation, now })),
    nextParked: (conversation: string): Op<ParkedRow | undefined> => done(nextParked.get({ conversation }) ?? undefined),
    parkedConversations: (): Op<string[]> => done(parkedConversations.all().map((row) => row.conversation)),
    unpark: (updateId: number): Op<void> => done(void unpark.run({ updateId })),
  };
}

export type RunStore = ReturnType<typeof prepareRunStore>;

export interface RoutingState {
  received: boolean;
  active: RunRow | undefined;
}

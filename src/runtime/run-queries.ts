import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../db/index.ts";
import { parkedUpdates, runs, runSteps, type RunStatus, type StepState } from "../db/schema.ts";

export type RunRow = typeof runs.$inferSelect;
export type StepRow = typeof runSteps.$inferSelect;
export type NewRun = typeof runs.$inferInsert;
export type NewStep = typeof runSteps.$inferInsert;

export const ACTIVE: RunStatus[] = ["running", "waiting"];

const p = <T extends string>(name: T) => sql.placeholder(name);

/**
 * The runtime's queries on its tables (runs, run_steps, parked_updates), prepared once: every
 * update routed and every step of a run uses several, and building a Drizzle query costs
 * ~5x more than running a prepared one (bench/waiting-runs.ts).
 */
export function prepareRunQueries(db: Db) {
  const activeRun = db
    .select()
    .from(runs)
    .where(and(eq(runs.conversation, p("conversation")), inArray(runs.status, ACTIVE)))
    .limit(1)
    .prepare();
  const runById = db.select().from(runs).where(eq(runs.id, p("id"))).prepare();
  const insertRun = db
    .insert(runs)
    .values({
      conversation: p("conversation"),
      chatId: p("chatId"),
      userId: p("userId"),
      agent: p("agent"),
      status: "running",
      triggerUpdateId: p("triggerUpdateId"),
      trigger: p("trigger"),
      createdAt: p("now"),
      updatedAt: p("now"),
    })
    .returning()
    .prepare();
  const setRunStatus = db
    .update(runs)
    .set({ status: sql`${p("status")}`, updatedAt: sql`${p("now")}` })
    .where(eq(runs.id, p("id")))
    .prepare();
  const endRun = db
    .update(runs)
    .set({ status: sql`${p("status")}`, error: sql`${p("error")}`, updatedAt: sql`${p("now")}`, endedAt: sql`${p("now")}` })
    .where(eq(runs.id, p("id")))
    .prepare();

  const journal = db.select().from(runSteps).where(eq(runSteps.runId, p("runId"))).orderBy(asc(runSteps.seq)).prepare();
  const stepAt = db
    .select()
    .from(runSteps)
    .where(and(eq(runSteps.runId, p("runId")), eq(runSteps.seq, p("seq"))))
    .prepare();
  const pendingStep = db
    .select()
    .from(runSteps)
    .where(and(eq(runSteps.runId, p("runId")), eq(runSteps.state, "waiting")))
    .limit(1)
    .prepare();
  const insertStep = db
    .insert(runSteps)
    .values({
      runId: p("runId"),
      seq: p("seq"),
      kind: p("kind"),
      text: p("text"),
      state: p("state"),
      deadlineAt: p("deadlineAt"),
      createdAt: p("now"),
    })
    .prepare();
  const settleStep = db
    .update(runSteps)
    .set({ state: sql`${p("state")}`, answer: sql`${p("answer")}`, answerUpdateId: sql`${p("answerUpdateId")}`, answeredAt: sql`${p("now")}` })
    .where(and(eq(runSteps.runId, p("runId")), eq(runSteps.seq, p("seq"))))
    .prepare();
  const cancelWaitingSteps = db
    .update(runSteps)
    .set({ state: "cancelled" })
    .where(and(eq(runSteps.runId, p("runId")), eq(runSteps.state, "waiting")))
    .prepare();

  const park = db
    .insert(parkedUpdates)
    .values({ updateId: p("updateId"), conversation: p("conversation"), createdAt: p("now") })
    .onConflictDoNothing()
    .prepare();
  const nextParked = db
    .select()
    .from(parkedUpdates)
    .where(eq(parkedUpdates.conversation, p("conversation")))
    .orderBy(asc(parkedUpdates.updateId))
    .limit(1)
    .prepare();
  const unpark = db.delete(parkedUpdates).where(eq(parkedUpdates.updateId, p("updateId"))).prepare();

  return {
    activeRun: (conversation: string): RunRow | undefined => activeRun.get({ conversation }),
    runById: (id: number): RunRow | undefined => runById.get({ id }),
    insertRun: (run: Pick<NewRun, "conversation" | "chatId" | "userId" | "agent" | "triggerUpdateId" | "trigger">, now: number): RunRow =>
      insertRun.get({ ...run, now })!,
    setRunStatus: (id: number, status: RunStatus, now: number) => void setRunStatus.run({ id, status, now }),
    endRun: (id: number, status: RunStatus, error: string | null, now: number) => void endRun.run({ id, status, error, now }),

    journal: (runId: number): StepRow[] => journal.all({ runId }),
    stepAt: (runId: number, seq: number): StepRow | undefined => stepAt.get({ runId, seq }),
    pendingStep: (runId: number): StepRow | undefined => pendingStep.get({ runId }),
    insertStep: (step: Pick<NewStep, "runId" | "seq" | "kind" | "text" | "state"> & { deadlineAt?: number | null }, now: number) =>
      void insertStep.run({ ...step, deadlineAt: step.deadlineAt ?? null, now }),
    settleStep: (runId: number, seq: number, state: StepState, now: number, answer: { text: string; updateId: number } | null = null) =>
      void settleStep.run({ runId, seq, state, now, answer: answer?.text ?? null, answerUpdateId: answer?.updateId ?? null }),
    cancelWaitingSteps: (runId: number) => void cancelWaitingSteps.run({ runId }),

    park: (updateId: number, conversation: string, now: number) => void park.run({ updateId, conversation, now }),
    nextParked: (conversation: string) => nextParked.get({ conversation }),
    unpark: (updateId: number) => void unpark.run({ updateId }),
  };
}

export type RunQueries = ReturnType<typeof prepareRunQueries>;

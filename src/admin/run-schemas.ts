import { t, type Static } from "elysia";
import type { ListedRun } from "../runtime/run-reads.ts";
import { iso, isoOrNull, isoTime, oneOf, RUN_STATUSES } from "./schemas.ts";

/** TypeBox schemas of /admin/runs (run-routes.ts; a run's detail adds its journal in run-detail.ts), and a run row as answered. */

export const PendingQuestion = t.Object({
  seq: t.Integer({ description: "Position of the question in the run's journal." }),
  text: t.String(),
  asked_at: isoTime("When the question was asked."),
  deadline_at: t.Nullable(isoTime("When the question times out (ASK_TIMEOUT_SECONDS).")),
});

export const Run = t.Object({
  id: t.Integer(),
  conversation: t.String({ description: 'The chat id in a private chat ("501"); "chatId:userId" for one user in a group.' }),
  chat_id: t.Integer(),
  user_id: t.Nullable(t.Integer()),
  agent: t.String(),
  status: oneOf(RUN_STATUSES),
  trigger_update_id: t.Integer(),
  error: t.Nullable(t.String()),
  created_at: isoTime("When the run started."),
  updated_at: isoTime("Last change."),
  ended_at: t.Nullable(isoTime("When the run ended.")),
  pending_question: t.Nullable(PendingQuestion),
});

export const RunList = t.Array(Run, {
  description: "Runs, newest first.",
  example: [
    {
      id: 7,
      conversation: "501",
      chat_id: 501,
      user_id: 501,
      agent: "coach",
      status: "waiting",
      trigger_update_id: 100012,
      error: null,
      created_at: "2025-01-31T12:00:00.000Z",
      updated_at: "2025-01-31T12:00:01.000Z",
      ended_at: null,
      pending_question: { seq: 1, text: "How many days a week can you train?", asked_at: "2025-01-31T12:00:01.000Z", deadline_at: "2025-02-01T12:00:01.000Z" },
    },
  ],
});

export const CancelAnswer = t.Object(
  { ok: t.Literal(true), id: t.Integer(), status: t.Literal("cancelled") },
  { description: "The run (and its pending question) is cancelled; the user is told.", example: { ok: true, id: 7, status: "cancelled" } },
);

export function runAnswer(run: ListedRun): Static<typeof Run> {
  const step = run.pendingQuestion;
  return {
    id: run.id,
    conversation: run.conversation,
    chat_id: run.chatId,
    user_id: run.userId,
    agent: run.agent,
    status: run.status,
    trigger_update_id: run.triggerUpdateId,
    error: run.error,
    created_at: iso(run.createdAt),
    updated_at: iso(run.updatedAt),
    ended_at: isoOrNull(run.endedAt),
    pending_question: step ? { seq: step.seq, text: step.text, asked_at: iso(step.createdAt), deadline_at: isoOrNull(step.deadlineAt) } : null,
  };
}

import { t, type Static } from "elysia";
import { STEP_KINDS, STEP_STATES } from "../db/schema.ts";
import type { RunRow, StepRow } from "../runtime/runs.ts";
import type { OutboxRow } from "../telegram/outbox.ts";
import { splitText } from "../telegram/split-text.ts";
import { Run, runAnswer } from "./run-schemas.ts";
import { iso, isoOrNull, isoTime, oneOf, OUTBOX_STATUSES } from "./schemas.ts";

/** GET /admin/runs/{id}: a run, its trigger update and its journal, with the messages each entry led to. */

export const RunMessage = t.Object({
  outbox_id: t.Integer({ description: "The message's `id` in GET /admin/outbox (retry a failed one with POST /admin/outbox/{id}/retry)." }),
  text: t.String({ description: "What was sent (a text over 4096 characters goes as several messages)." }),
  status: oneOf(OUTBOX_STATUSES, { description: "queued, sending, sent or failed." }),
  message_id: t.Nullable(t.Integer({ description: "Telegram's message_id once sent." })),
  last_error: t.Nullable(t.String({ description: "Why the last attempt failed." })),
});

export const JournalEntry = t.Object({
  seq: t.Integer({ description: "Position in the journal, from 0." }),
  kind: oneOf(STEP_KINDS, { description: "reply (ctx.reply), ask (ctx.ask), step (ctx.step), sleep (ctx.sleep) or remember (ctx.remember)." }),
  text: t.Nullable(t.String({ description: "The reply or the question; null for other kinds." })),
  name: t.Nullable(t.String({ description: "The step's name (`sleep` and `remember` for those kinds); null for replies and questions." })),
  state: oneOf(STEP_STATES, {
    description:
      "done (a reply, step, sleep or memory write that finished), failed (a step whose retries ran out), retrying (a step between attempts: `attempts` failed so far, the next at `deadline_at`), waiting (a question or sleep not over yet), answered, timed_out or cancelled (a question, or a step between attempts when its run was cancelled or failed another way).",
  }),
  result: t.Unknown({ description: "A step's result or the value remembered, as JSON; null otherwise." }),
  error: t.Nullable(t.String({ description: "A failed step's last error." })),
  attempts: t.Nullable(t.Integer({ description: "How many times a step's function ran (retrying: the attempts that failed so far)." })),
  choices: t.Nullable(t.Array(t.String(), { description: "A question's buttons." })),
  answer: t.Nullable(t.String({ description: "A question's answer." })),
  answer_update_id: t.Nullable(t.Integer({ description: "The update that answered the question." })),
  deadline_at: t.Nullable(isoTime("When a question times out, a sleep ends, or a retrying step makes its next attempt.")),
  created_at: isoTime("When the entry began (a step's first attempt, a question asked, a sleep started)."),
  finished_at: t.Nullable(isoTime("When the question was answered or timed out, the step finished, the sleep ended; null while waiting.")),
  messages: t.Array(RunMessage, { description: "The Telegram messages a reply or question led to, in order (empty for other kinds, or once the outbox has pruned them)." }),
});

export const RunDetail = t.Object(
  {
    ...Run.properties,
    agent_version: t.Nullable(t.String({ description: "The agent's `version`, else a hash of its source, when the run started." })),
    trigger_update: t.Object({ update_id: t.Integer() }, { additionalProperties: true, description: "The update that started the run, as Telegram sent it." }),
    journal: t.Array(JournalEntry, { description: "Every entry of the run's journal, in order." }),
    notices: t.Array(RunMessage, { description: "Messages timbre itself sent about the run (it was cancelled, failed or timed out), oldest first." }),
  },
  {
    description: "The run with its trigger update and its whole journal.",
    example: {
      id: 7,
      conversation: "501",
      chat_id: 501,
      user_id: 501,
      agent: "coach",
      agent_version: "1.4.0",
      status: "waiting",
      trigger_update_id: 100012,
      error: null,
      created_at: "2025-01-31T12:00:00.000Z",
      updated_at: "2025-01-31T12:00:05.000Z",
      ended_at: null,
      pending_question: { seq: 2, text: "How many days per week can you train?", asked_at: "2025-01-31T12:00:05.000Z", deadline_at: "2025-02-01T12:00:05.000Z" },
      trigger_update: { update_id: 100012, message: { message_id: 9, chat: { id: 501, type: "private" }, date: 1738324800, text: "hi" } },
      journal: [
        {
          seq: 0,
          kind: "ask",
          text: "What is your training goal?",
          name: null,
          state: "answered",
          result: null,
          error: null,
          attempts: null,
          choices: null,
          answer: "run a 10k",
          answer_update_id: 100013,
          deadline_at: "2025-02-01T12:00:00.000Z",
          created_at: "2025-01-31T12:00:00.000Z",
          finished_at: "2025-01-31T12:00:04.000Z",
          messages: [{ outbox_id: 31, text: "What is your training goal?", status: "sent", message_id: 10, last_error: null }],
        },
        {
          seq: 1,
          kind: "step",
          text: null,
          name: "look up the weather",
          state: "done",
          result: { forecast: "sunny" },
          error: null,
          attempts: 1,
          choices: null,
          answer: null,
          answer_update_id: null,
          deadline_at: null,
          created_at: "2025-01-31T12:00:04.100Z",
          finished_at: "2025-01-31T12:00:04.900Z",
          messages: [],
        },
        {
          seq: 2,
          kind: "ask",
          text: "How many days per week can you train?",
          name: null,
          state: "waiting",
          result: null,
          error: null,
          attempts: null,
          choices: null,
          answer: null,
          answer_update_id: null,
          deadline_at: "2025-02-01T12:00:05.000Z",
          created_at: "2025-01-31T12:00:05.000Z",
          finished_at: null,
          messages: [{ outbox_id: 32, text: "How many days per week can you train?", status: "sent", message_id: 12, last_error: null }],
        },
      ],
      notices: [],
    },
  },
);

function messageAnswer(row: OutboxRow): Static<typeof RunMessage> {
  return { outbox_id: row.id, text: row.text, status: row.status, message_id: row.messageId, last_error: row.lastError };
}

/**
 * Which outbox rows each reply and question led to. The outbox rows of a run carry no journal
 * position, but they are written in the same commit as their entry, in journal order, one row per
 * part of the text: so the rows are matched to the entries' parts in order, by text. Rows left
 * over are timbre's own notices; a part whose row was pruned matches nothing.
 */
export function messagesOfEntries(steps: StepRow[], rows: OutboxRow[]): { byEntry: Map<number, OutboxRow[]>; notices: OutboxRow[] } {
  const byEntry = new Map<number, OutboxRow[]>();
  const used = new Set<number>();
  let next = 0;
  for (const step of steps) {
    if (step.kind !== "reply" && step.kind !== "ask") continue;
    const matched: OutboxRow[] = [];
    for (const part of splitText(step.text)) {
      const at = rows.findIndex((row, index) => index >= next && row.text === part);
      if (at === -1) continue;
      matched.push(rows[at]!);
      used.add(rows[at]!.id);
      next = at + 1;
    }
    byEntry.set(step.seq, matched);
  }
  // A keyboard edit (a tapped choice marked ✓) is no message of timbre's own.
  return { byEntry, notices: rows.filter((row) => !used.has(row.id) && row.method !== "editMessageReplyMarkup") };
}

function parsed(json: string | null): unknown {
  if (json === null) return null;
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return json; // not written by timbre as JSON: shown as it is
  }
}

export function runDetailAnswer(run: RunRow, steps: StepRow[], rows: OutboxRow[]): Static<typeof RunDetail> {
  const pending = run.status === "waiting" ? steps.find((step) => step.state === "waiting" && step.kind === "ask") : undefined;
  const { byEntry, notices } = messagesOfEntries(steps, rows);
  return {
    ...runAnswer({ ...run, pendingQuestion: pending ?? null }),
    agent_version: run.agentVersion,
    trigger_update: JSON.parse(run.trigger) as { update_id: number },
    journal: steps.map((step) => {
      const said = step.kind === "reply" || step.kind === "ask";
      return {
        seq: step.seq,
        kind: step.kind,
        text: said ? step.text : null,
        name: said ? null : step.text,
        state: step.state,
        result: parsed(step.result),
        error: step.error,
        attempts: step.attempts,
        choices: step.choices === null ? null : (parsed(step.choices) as string[]),
        answer: step.answer,
        answer_update_id: step.answerUpdateId,
        deadline_at: isoOrNull(step.deadlineAt),
        created_at: iso(step.createdAt),
        finished_at: isoOrNull(step.answeredAt),
        messages: (byEntry.get(step.seq) ?? []).map(messageAnswer),
      };
    }),
    notices: notices.map(messageAnswer),
  };
}

import { t, type Static } from "elysia";
import type { OutboxRow } from "../telegram/outbox.ts";
import type { RunRow, StepRow } from "../runtime/runs.ts";
import type { UpdateRow } from "../ingest/inbox.ts";

/** TypeBox schemas of the admin API: they validate requests and answers and feed /swagger/json. */

export const MAX_PAGE = 500;
export const DEFAULT_PAGE = 50;

export const isoTime = (description: string) => t.String({ format: "date-time", description, example: "2025-01-31T12:00:00.000Z" });

export const errorBody = (description: string, example: string) =>
  t.Object({ ok: t.Literal(false), error: t.String({ description: "What went wrong and what to do about it." }) }, { description, example: { ok: false, error: example } });

export const Unauthorized = errorBody(
  "Missing or wrong bearer token, or ADMIN_TOKEN is not set.",
  "wrong bearer token: send Authorization: Bearer <the value of ADMIN_TOKEN>",
);
export const BadRequest = errorBody("A parameter, query or body value is invalid.", "limit must be a whole number from 1 to 500");
export const TelegramFailed = errorBody(
  "Telegram refused the call or could not be reached; `error` carries Telegram's description.",
  "Telegram refused setWebhook (400): Bad Request: bad webhook: HTTPS url must be provided for webhook",
);
export const Starting = errorBody("timbre is still starting.", "timbre is still starting; try again in a moment");

export const Limit = t.Integer({
  minimum: 1,
  maximum: MAX_PAGE,
  default: DEFAULT_PAGE,
  description: `Page size, 1-${MAX_PAGE} (default ${DEFAULT_PAGE}).`,
  error: `limit must be a whole number from 1 to ${MAX_PAGE}`,
});

export const Before = t.Integer({
  minimum: 0,
  description: "Pagination cursor: only items whose id is lower than this (pass the last id of the previous page).",
  error: "before must be a whole number (the last id of the previous page)",
});

export const ConversationQuery = t.String({
  minLength: 1,
  maxLength: 64,
  description: 'Only runs of this conversation, as runs show it: the chat id in a private chat ("501"), "chatId:userId" in a group.',
  error: 'conversation must be a conversation as GET /admin/runs shows it: a chat id ("501"), or "chatId:userId" in a group',
  example: "501",
});

export const IdParam = (what: string) =>
  t.Object({ id: t.Integer({ minimum: 0, description: `The ${what}.`, error: `id must be a whole number (the ${what})`, example: 42 }) });

export const UPDATE_STATUSES = ["received", "processing", "done", "failed"] as const;
export const RUN_STATUSES = ["running", "waiting", "done", "failed", "cancelled"] as const;
export const OUTBOX_STATUSES = ["queued", "sending", "sent", "failed"] as const;

/** t.UnionEnum without its implicit default (the first value), which would silently filter a query left out. */
export const oneOf = <const S extends readonly [string, ...string[]]>(values: S, options: Record<string, unknown> = {}) => t.UnionEnum(values, { default: undefined, ...options });

export const statusQuery = <const S extends readonly [string, ...string[]]>(statuses: S, what: string) =>
  oneOf(statuses, { description: `Only ${what} with this status.`, error: `status must be one of ${statuses.join(", ")}` });

// ---- webhook ----

export const WebhookInfo = t.Object(
  {
    url: t.String({ description: "Webhook URL; empty when none is set (polling or nothing)." }),
    has_custom_certificate: t.Boolean(),
    pending_update_count: t.Integer({ description: "Updates Telegram holds, not yet delivered." }),
    ip_address: t.Optional(t.String()),
    last_error_date: t.Optional(t.Integer({ description: "Unix time of the last delivery error." })),
    last_error_message: t.Optional(t.String({ description: "Why Telegram's last delivery failed." })),
    last_synchronization_error_date: t.Optional(t.Integer()),
    max_connections: t.Optional(t.Integer()),
    allowed_updates: t.Optional(t.Array(t.String())),
  },
  {
    additionalProperties: true,
    description: "Telegram's WebhookInfo object, exactly as getWebhookInfo answers it.",
    example: {
      url: "https://bot.example.com/telegram/webhook",
      has_custom_certificate: false,
      pending_update_count: 0,
      max_connections: 40,
      allowed_updates: ["message", "edited_message", "callback_query", "my_chat_member"],
    },
  },
);

export const SetWebhookBody = t.Optional(
  t.Object(
    {
      url: t.Optional(t.String({ minLength: 1, description: "Webhook URL; default {PUBLIC_URL}/telegram/webhook.", error: "url must be a non-empty string" })),
      drop_pending_updates: t.Optional(t.Boolean({ description: "Drop the updates Telegram holds.", error: "drop_pending_updates must be true or false" })),
      max_connections: t.Optional(t.Integer({ minimum: 1, maximum: 100, description: "Default MAX_CONNECTIONS.", error: "max_connections must be a whole number from 1 to 100" })),
      allowed_updates: t.Optional(
        t.Array(t.String(), { description: "Update types to receive; default ALLOWED_UPDATES.", error: "allowed_updates must be an array of update type names" }),
      ),
    },
    { example: { url: "https://bot.example.com/telegram/webhook", drop_pending_updates: false, max_connections: 40 } },
  ),
);

export const SetWebhookAnswer = t.Object(
  {
    ok: t.Literal(true),
    url: t.String(),
    max_connections: t.Integer(),
    allowed_updates: t.Array(t.String()),
    certificate: t.Boolean({ description: "Whether TLS_CERT_PATH was uploaded as the webhook's certificate." }),
  },
  {
    description: "Telegram accepted setWebhook (the stored secret was sent with it).",
    example: { ok: true, url: "https://bot.example.com/telegram/webhook", max_connections: 40, allowed_updates: ["message"], certificate: false },
  },
);

export const DeleteWebhookQuery = t.Object({
  drop_pending_updates: t.Optional(t.Boolean({ description: "Also drop the updates Telegram holds.", error: "drop_pending_updates must be true or false" })),
});

export const OkAnswer = t.Object({ ok: t.Literal(true) }, { description: "Done.", example: { ok: true } });

// ---- stats ----

export const Stats = t.Object(
  {
    mode: oneOf(["webhook", "polling"]),
    uptime_seconds: t.Integer(),
    updates: t.Object({ received: t.Integer(), processing: t.Integer(), done: t.Integer(), failed: t.Integer() }),
    runs: t.Object({ running: t.Integer(), waiting: t.Integer({ description: "Pending questions." }), done: t.Integer(), failed: t.Integer(), cancelled: t.Integer() }),
    outbox: t.Object({ queued: t.Integer(), sending: t.Integer(), sent: t.Integer(), failed: t.Integer() }),
  },
  {
    description: "Current totals by status.",
    example: {
      mode: "webhook",
      uptime_seconds: 3600,
      updates: { received: 0, processing: 2, done: 1520, failed: 1 },
      runs: { running: 1, waiting: 3, done: 400, failed: 0, cancelled: 2 },
      outbox: { queued: 0, sending: 0, sent: 2100, failed: 0 },
    },
  },
);

// ---- runs ----

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

// ---- updates ----

export const StoredUpdateItem = t.Object({
  update_id: t.Integer(),
  chat_id: t.Nullable(t.Integer()),
  user_id: t.Nullable(t.Integer()),
  kind: t.String({ description: "The update type: message, edited_message, callback_query, ..." }),
  status: oneOf(UPDATE_STATUSES),
  error: t.Nullable(t.String({ description: "Why handling failed." })),
  received_at: isoTime("When it was stored."),
  updated_at: isoTime("Last status change."),
  update: t.Nullable(t.Object({ update_id: t.Integer() }, { additionalProperties: true, description: "The update as Telegram sent it; null once pruned." })),
});

export const UpdateList = t.Array(StoredUpdateItem, {
  description: "Stored updates, newest first.",
  example: [
    {
      update_id: 100042,
      chat_id: 501,
      user_id: 501,
      kind: "message",
      status: "failed",
      error: "agent crashed: boom",
      received_at: "2025-01-31T12:00:00.000Z",
      updated_at: "2025-01-31T12:00:00.050Z",
      update: { update_id: 100042, message: { message_id: 9, chat: { id: 501, type: "private" }, date: 1738324800, text: "hi" } },
    },
  ],
});

export const RetryAnswer = t.Object(
  { ok: t.Literal(true), update_id: t.Integer(), status: t.Literal("received") },
  { description: "The update is back in the queue and will be handled again.", example: { ok: true, update_id: 100042, status: "received" } },
);

// ---- outbox ----

export const OutboxItem = t.Object({
  id: t.Integer(),
  chat_id: t.Integer(),
  text: t.String(),
  status: oneOf(OUTBOX_STATUSES),
  attempts: t.Integer(),
  last_error: t.Nullable(t.String()),
  message_id: t.Nullable(t.Integer({ description: "Telegram's message_id once sent." })),
  run_id: t.Nullable(t.Integer()),
  update_id: t.Nullable(t.Integer()),
  next_attempt_at: isoTime("Not sent before this time."),
  created_at: isoTime("When it was queued."),
  updated_at: isoTime("Last change."),
});

export const OutboxList = t.Array(OutboxItem, {
  description: "Outbox messages, newest first.",
  example: [
    {
      id: 31,
      chat_id: 501,
      text: "Here is your plan",
      status: "failed",
      attempts: 1,
      last_error: "Forbidden: bot was blocked by the user",
      message_id: null,
      run_id: 7,
      update_id: 100012,
      next_attempt_at: "2025-01-31T12:00:00.000Z",
      created_at: "2025-01-31T12:00:00.000Z",
      updated_at: "2025-01-31T12:00:00.400Z",
    },
  ],
});

export const OutboxRetried = t.Object(OutboxItem.properties, {
  description: "The message is queued again with its attempts reset; `last_error` (why it failed) stays until it is sent.",
  example: {
    id: 31,
    chat_id: 501,
    text: "Here is your plan",
    status: "queued",
    attempts: 0,
    last_error: "Forbidden: bot was blocked by the user",
    message_id: null,
    run_id: 7,
    update_id: 100012,
    next_attempt_at: "2025-02-01T09:30:00.000Z",
    created_at: "2025-01-31T12:00:00.000Z",
    updated_at: "2025-02-01T09:30:00.000Z",
  },
});

// ---- rows -> answers ----

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

export function runAnswer(run: RunRow & { pendingQuestion: StepRow | null }): Static<typeof Run> {
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

export function updateAnswer(row: UpdateRow): Static<typeof StoredUpdateItem> {
  return {
    update_id: row.updateId,
    chat_id: row.chatId,
    user_id: row.userId,
    kind: row.kind,
    status: row.status,
    error: row.error,
    received_at: iso(row.receivedAt),
    updated_at: iso(row.updatedAt),
    update: row.payload === null ? null : (JSON.parse(row.payload) as { update_id: number }),
  };
}

export function outboxAnswer(row: OutboxRow): Static<typeof OutboxItem> {
  return {
    id: row.id,
    chat_id: row.chatId,
    text: row.text,
    status: row.status,
    attempts: row.attempts,
    last_error: row.lastError,
    message_id: row.messageId,
    run_id: row.runId,
    update_id: row.updateId,
    next_attempt_at: iso(row.nextAttemptAt),
    created_at: iso(row.createdAt),
    updated_at: iso(row.updatedAt),
  };
}

import { t, type Static } from "elysia";
import type { UpdateRow } from "../ingest/inbox.ts";
import type { OutboxRow } from "../telegram/outbox.ts";
import { iso, isoTime, oneOf, OUTBOX_STATUSES, UPDATE_STATUSES } from "./schemas.ts";

/** TypeBox schemas of /admin/updates and /admin/outbox (queue-routes.ts), and their rows as answered. */

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

import { t } from "elysia";

/**
 * TypeBox schemas every admin route group shares (errors, paging, ids, statuses, times). A group's
 * own schemas sit beside its routes: run-schemas.ts, queue-schemas.ts, webhook-schemas.ts, and
 * stats-route.ts's one. They validate requests and answers and feed /swagger/json.
 */

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
export const Starting = errorBody("timbre is still starting, or its database is busy right now (locked, full, read-only); try again shortly.", "timbre is still starting; try again in a moment");

/** An admin write for a chat another instance holds right now (several instances on PostgreSQL): nothing was written. */
export const ELSEWHERE = (what: string) => `${what}: its chat is handled by another timbre instance right now; try again in a few seconds`;

export const StartingOrElsewhere = errorBody(
  "timbre is still starting, its database is busy right now, or (several instances) another instance holds the chat right now; nothing was written, try again shortly.",
  ELSEWHERE("run 42"),
);

/**
 * The whole-number parameters and queries, and what a bad one is told. Elysia would read " " as 0
 * and "0x10" as 16, so the admin routes first check that each is written in plain digits.
 */
export const WHOLE_NUMBER_ERRORS: Record<string, string> = {
  id: "id must be a whole number, written in digits",
  limit: `limit must be a whole number from 1 to ${MAX_PAGE}`,
  before: "before must be a whole number (the last id of the previous page)",
};

export const Limit = t.Integer({
  minimum: 1,
  maximum: MAX_PAGE,
  default: DEFAULT_PAGE,
  description: `Page size, 1-${MAX_PAGE} (default ${DEFAULT_PAGE}).`,
  error: WHOLE_NUMBER_ERRORS.limit,
});

export const Before = t.Integer({
  minimum: 0,
  description: "Pagination cursor: only items whose id is lower than this (pass the last id of the previous page).",
  error: WHOLE_NUMBER_ERRORS.before,
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

/** Row times (Unix ms) as the answers show them. */
export const iso = (ms: number) => new Date(ms).toISOString();
export const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

/** A route that takes no query: a query parameter (`PUT /admin/webhook?drop_pending_updates=true`) is a 400, never ignored. */
export const NoQuery = t.Object({}, { additionalProperties: false });

/** A route that takes no body: a body field (a DELETE's `{"drop_pending_updates": true}`, which belongs in its query) is a 400, never ignored. */
export const NoBody = t.Optional(t.Object({}, { additionalProperties: false, description: "No body." }));

import { Elysia, status, t } from "elysia";
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import type { Db } from "../db/index.ts";
import type { Inbox } from "../ingest/inbox.ts";
import type { Logger } from "../observability/log.ts";
import type { Dispatcher } from "../runtime/dispatcher.ts";
import type { Runtime } from "../runtime/runs.ts";
import type { ApiOutcome, TelegramApi } from "../telegram/api.ts";
import type { Outbox } from "../telegram/outbox.ts";
import { deleteWebhook, desiredWebhook, getWebhookInfo, setWebhook } from "../telegram/webhook-control.ts";
import { BackupError, backupInto } from "../db/backup.ts";
import { MAX_UPDATE_DEPTH, nestsDeeperThan } from "../ingest/json-depth.ts";
import { clientAddress } from "../ingest/trusted-ips.ts";
import { UPDATE_TYPES, unknownUpdateType } from "../ingest/update-types.ts";
import { SANDBOX_OWNS_WEBHOOK } from "../sandbox/owns-webhook.ts";
import { checkAdminToken, type AuthAttemptGuard } from "./auth.ts";
import { RunDetail, runDetailAnswer } from "./run-detail.ts";
import { DASHBOARD_FILES } from "./ui/routes.ts";
import {
  BadRequest,
  DEFAULT_PAGE,
  Before,
  CancelAnswer,
  ConversationQuery,
  DeleteWebhookQuery,
  IdParam,
  Limit,
  OkAnswer,
  OUTBOX_STATUSES,
  OutboxList,
  OutboxRetried,
  outboxAnswer,
  RetryAnswer,
  RUN_STATUSES,
  RunList,
  runAnswer,
  SetWebhookAnswer,
  SetWebhookBody,
  Starting,
  Stats,
  statusQuery,
  TelegramFailed,
  Unauthorized,
  UPDATE_STATUSES,
  UpdateList,
  updateAnswer,
  WebhookInfo,
  errorBody,
} from "./schemas.ts";

export const ADMIN_PREFIX = "/admin";

/** What the admin routes act on; ready once the service is wired (the server listens a moment earlier). */
export interface AdminParts {
  db: Db;
  /** The webhook secret, always sent with setWebhook. */
  secret: string;
  api: TelegramApi;
  inbox: Inbox;
  runtime: Runtime;
  outbox: Outbox;
  dispatcher: Dispatcher;
  clock: Clock;
  /** Unix ms of the start (for uptime). */
  startedAt: number;
}

export interface AdminOptions {
  config: Config;
  parts: () => AdminParts | undefined;
  /** Changes made through the admin API are logged (who changed the webhook, cancelled a run...). */
  log: Logger;
  /** Brute-force protection (issue 8) plugs in here. */
  guard?: AuthAttemptGuard;
}

const SECURITY = [{ bearerAuth: [] }];
const NotFound = (what: string, example: string) => errorBody(`No such ${what}.`, example);
const SandboxOwnsWebhook = errorBody("Sandbox mode (no TELEGRAM_BOT_TOKEN): the sandbox owns its webhook.", SANDBOX_OWNS_WEBHOOK);

function telegramError(method: string, outcome: Extract<ApiOutcome<unknown>, { ok: false }>): string {
  if (outcome.code === 0) return `could not reach Telegram for ${method}: ${outcome.description}`;
  if (outcome.code >= 500) return `Telegram failed ${method} (${outcome.code}): ${outcome.description}`;
  return `Telegram refused ${method} (${outcome.code}): ${outcome.description}`;
}

/** /admin/*: bearer-protected management and inspection routes, documented for /swagger. */
export function adminRoutes(options: AdminOptions) {
  const { config, log } = options;
  const need = (): AdminParts => {
    const parts = options.parts();
    // Thrown as a response: only reachable in the instant between listen() and the wiring.
    if (!parts) throw status(503, { ok: false as const, error: "timbre is still starting; try again in a moment" });
    return parts;
  };

  return (
    new Elysia({ name: "admin", prefix: ADMIN_PREFIX })
      // Authentication runs before routing, parsing and validation: without the token nothing else is revealed.
      .onRequest(({ request, server }) => {
        const path = new URL(request.url).pathname;
        if (path !== ADMIN_PREFIX && !path.startsWith(`${ADMIN_PREFIX}/`)) return;
        // The dashboard's page and files carry no data; what it shows comes from these routes, with the token.
        if (DASHBOARD_FILES.has(path)) return;
        // The socket's address, or behind a proxy (TRUST_PROXY) the one it appended to X-Forwarded-For.
        const peer = clientAddress(request, server?.requestIP(request)?.address, config.trustProxy) ?? "unknown";
        const refusal = checkAdminToken(config.adminToken, request.headers.get("authorization"), peer, options.guard);
        if (!refusal) return;
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (refusal.status === 401) headers["www-authenticate"] = 'Bearer realm="timbre admin"';
        if (refusal.retryAfter !== undefined) headers["retry-after"] = String(refusal.retryAfter);
        return new Response(JSON.stringify({ ok: false, error: refusal.error }), { status: refusal.status, headers });
      })
      // Bodies are JSON whatever their Content-Type; an empty body is no body.
      .onParse(async ({ request }) => {
        const text = await request.text();
        if (text.trim() === "") return undefined;
        const body = JSON.parse(text) as unknown;
        // Validation errors quote the value, and a very deep one overflows the stack (a 500); refused as unparsable (400).
        if (nestsDeeperThan(text, MAX_UPDATE_DEPTH)) throw new SyntaxError(`body nests arrays/objects more than ${MAX_UPDATE_DEPTH} levels deep`);
        return body;
      })

      .get(
        "/webhook",
        async () => {
          const info = await getWebhookInfo(need().api);
          if (!info.ok) return status(502, { ok: false as const, error: telegramError("getWebhookInfo", info) });
          return info.result;
        },
        {
          response: { 200: WebhookInfo, 401: Unauthorized, 502: TelegramFailed, 503: Starting },
          detail: {
            tags: ["webhook"],
            summary: "Show the webhook Telegram has",
            description: "Calls getWebhookInfo and answers Telegram's WebhookInfo object as is: url (empty when none), pending_update_count, last_error_message, max_connections, allowed_updates. In sandbox mode, the built-in emulator's webhook.",
            security: SECURITY,
          },
        },
      )
      .put(
        "/webhook",
        async ({ body }) => {
          if (config.sandbox) return status(409, { ok: false as const, error: SANDBOX_OWNS_WEBHOOK });
          const parts = need();
          const unknownType = body?.allowed_updates !== undefined ? unknownUpdateType(body.allowed_updates) : undefined;
          if (unknownType !== undefined) {
            return status(400, { ok: false as const, error: `allowed_updates: ${JSON.stringify(unknownType)} is not a Bot API update type; expected some of ${UPDATE_TYPES.join(", ")}` });
          }
          const desired = desiredWebhook(config, parts.secret, {
            ...(body?.url !== undefined ? { url: body.url } : {}),
            ...(body?.max_connections !== undefined ? { maxConnections: body.max_connections } : {}),
            ...(body?.allowed_updates !== undefined ? { allowedUpdates: body.allowed_updates } : {}),
            ...(body?.drop_pending_updates !== undefined ? { dropPendingUpdates: body.drop_pending_updates } : {}),
          });
          if (!desired) return status(400, { ok: false as const, error: "no webhook url: send {\"url\": \"https://...\"} or set PUBLIC_URL (then {PUBLIC_URL}/telegram/webhook is used)" });
          const outcome = await setWebhook(parts.api, parts.db, desired);
          if (!outcome.ok) return status(502, { ok: false as const, error: telegramError("setWebhook", outcome) });
          log.info("admin: webhook set", { url: desired.url, max_connections: desired.maxConnections, allowed_updates: desired.allowedUpdates, drop_pending_updates: desired.dropPendingUpdates ?? false });
          return {
            ok: true as const,
            url: desired.url,
            max_connections: desired.maxConnections,
            allowed_updates: desired.allowedUpdates,
            certificate: desired.certificatePath !== undefined,
          };
        },
        {
          body: SetWebhookBody,
          response: { 200: SetWebhookAnswer, 400: BadRequest, 401: Unauthorized, 409: SandboxOwnsWebhook, 502: TelegramFailed, 503: Starting },
          detail: {
            tags: ["webhook"],
            summary: "Set the webhook",
            description:
              "Calls setWebhook. Without `url`, {PUBLIC_URL}/telegram/webhook is used; without either the answer is 400. The stored webhook secret is always sent, max_connections and allowed_updates default to MAX_CONNECTIONS and ALLOWED_UPDATES (an allowed_updates entry that is not a current Bot API update type is a 400), and TLS_CERT_PATH is uploaded when set. timbre does not second-guess the URL: when Telegram refuses it, the answer is 502 with Telegram's description. In sandbox mode the answer is 409: the sandbox owns its webhook.",
            security: SECURITY,
          },
        },
      )
      .delete(
        "/webhook",
        async ({ query }) => {
          if (config.sandbox) return status(409, { ok: false as const, error: SANDBOX_OWNS_WEBHOOK });
          const outcome = await deleteWebhook(need().api, query.drop_pending_updates ?? false);
          if (!outcome.ok) return status(502, { ok: false as const, error: telegramError("deleteWebhook", outcome) });
          log.info("admin: webhook deleted", { drop_pending_updates: query.drop_pending_updates ?? false });
          return { ok: true as const };
        },
        {
          query: DeleteWebhookQuery,
          response: { 200: OkAnswer, 400: BadRequest, 401: Unauthorized, 409: SandboxOwnsWebhook, 502: TelegramFailed, 503: Starting },
          detail: {
            tags: ["webhook"],
            summary: "Delete the webhook",
            description:
              "Calls deleteWebhook. Pending updates are kept unless drop_pending_updates=true. While timbre runs in webhook mode nothing arrives until a webhook is set again (or BOT_MODE=polling). In sandbox mode the answer is 409: the sandbox owns its webhook.",
            security: SECURITY,
          },
        },
      )

      .get(
        "/stats",
        () => {
          const { inbox, runtime, outbox, clock, startedAt } = need();
          return {
            mode: config.botMode,
            uptime_seconds: Math.max(0, Math.floor((clock.now() - startedAt) / 1000)),
            updates: inbox.counts(),
            runs: runtime.counts(),
            outbox: outbox.counts(),
          };
        },
        {
          response: { 200: Stats, 401: Unauthorized, 503: Starting },
          detail: {
            tags: ["monitoring"],
            summary: "Counts by status, mode and uptime",
            description:
              "Current totals: updates (received = stored, not yet handled), runs (waiting = pending questions) and outbox messages by status, the mode (webhook or polling) and the uptime in seconds.",
            security: SECURITY,
          },
        },
      )

      .get(
        "/runs",
        ({ query }) => {
          const { runtime } = need();
          const rows = runtime.list({
            limit: query.limit ?? DEFAULT_PAGE,
            ...(query.status !== undefined ? { status: query.status } : {}),
            ...(query.conversation !== undefined ? { conversation: query.conversation } : {}),
            ...(query.before !== undefined ? { beforeId: query.before } : {}),
          });
          return rows.map(runAnswer);
        },
        {
          query: t.Object({
            status: t.Optional(statusQuery(RUN_STATUSES, "runs")),
            conversation: t.Optional(ConversationQuery),
            limit: t.Optional(Limit),
            before: t.Optional(Before),
          }),
          response: { 200: RunList, 400: BadRequest, 401: Unauthorized, 503: Starting },
          detail: {
            tags: ["runs"],
            summary: "List agent runs, newest first",
            description:
              "Runs of the agent, newest first, optionally only one status (`waiting` = runs with a pending question) and one `conversation`. A waiting run carries its `pending_question` (text, when it was asked, when it times out). Page with `limit` and `before` (the last id of the previous page).",
            security: SECURITY,
          },
        },
      )
      .get(
        "/runs/:id",
        ({ params }) => {
          const { runtime, outbox } = need();
          const run = runtime.get(params.id);
          if (!run) return status(404, { ok: false as const, error: `no run with id ${params.id}; see GET /admin/runs` });
          return runDetailAnswer(run, runtime.steps(run.id), outbox.ofRun(run.id));
        },
        {
          params: IdParam("run id"),
          response: { 200: RunDetail, 400: BadRequest, 401: Unauthorized, 404: NotFound("run", "no run with id 42; see GET /admin/runs"), 503: Starting },
          detail: {
            tags: ["runs"],
            summary: "Show a run with its whole journal",
            description:
              "The run as GET /admin/runs shows it, plus its agent version, the update that started it and its journal in order: every reply, question (with its choices, answer and deadline), step (with its result or error and attempts), sleep and memory write, each with its state and times. Replies and questions carry the outbox messages they led to, with Telegram's message_id once sent; `notices` are the messages timbre itself sent about the run (cancelled, failed, timed out). Ended runs and their journals are kept 7 days. 404 for an unknown id.",
            security: SECURITY,
          },
        },
      )
      .post(
        "/runs/:id/cancel",
        ({ params }) => {
          const { runtime } = need();
          const outcome = runtime.cancel(params.id);
          if (outcome.kind === "not_found") return status(404, { ok: false as const, error: `no run with id ${params.id}; see GET /admin/runs` });
          if (outcome.kind === "not_active") {
            return status(409, { ok: false as const, error: `run ${params.id} is ${outcome.status}; only running or waiting runs can be cancelled` });
          }
          log.info("admin: run cancelled", { run_id: params.id, chat_id: outcome.run.chatId });
          return { ok: true as const, id: params.id, status: "cancelled" as const };
        },
        {
          params: IdParam("run id"),
          response: {
            200: CancelAnswer,
            400: BadRequest,
            401: Unauthorized,
            404: NotFound("run", "no run with id 42; see GET /admin/runs"),
            409: errorBody("The run already ended.", "run 42 is done; only running or waiting runs can be cancelled"),
            503: Starting,
          },
          detail: {
            tags: ["runs"],
            summary: "Cancel a run",
            description: "Ends a running or waiting run and its pending question at once, as /cancel in the chat would, and tells the user. 404 for an unknown id, 409 when the run already ended.",
            security: SECURITY,
          },
        },
      )

      .get(
        "/updates",
        ({ query }) => {
          const { inbox } = need();
          const rows = inbox.list({
            limit: query.limit ?? DEFAULT_PAGE,
            ...(query.status !== undefined ? { status: query.status } : {}),
            ...(query.before !== undefined ? { beforeUpdateId: query.before } : {}),
          });
          return rows.map(updateAnswer);
        },
        {
          query: t.Object({ status: t.Optional(statusQuery(UPDATE_STATUSES, "updates")), limit: t.Optional(Limit), before: t.Optional(Before) }),
          response: { 200: UpdateList, 400: BadRequest, 401: Unauthorized, 503: Starting },
          detail: {
            tags: ["updates"],
            summary: "List stored updates, newest first",
            description:
              "Updates in the durable inbox, newest first. `?status=failed` lists the dead letters with their error; retry one with POST /admin/updates/{id}/retry. Done updates lose their payload after an hour (`update` is then null) and are forgotten after 48 hours.",
            security: SECURITY,
          },
        },
      )
      .post(
        "/updates/:id/retry",
        ({ params }) => {
          const { inbox, dispatcher } = need();
          const result = inbox.retry(params.id);
          if (result === "not_found") return status(404, { ok: false as const, error: `no stored update with update_id ${params.id}; see GET /admin/updates` });
          if (result === "not_failed") {
            const row = inbox.row(params.id);
            const why = row?.status === "failed" ? "its payload was pruned" : `it is ${row?.status ?? "gone"}`;
            return status(409, { ok: false as const, error: `update ${params.id} cannot be retried: ${why}; only failed updates can be retried` });
          }
          dispatcher.enqueue([result]);
          log.info("admin: failed update put back in the queue", { update_id: params.id, chat_id: result.chatId });
          return { ok: true as const, update_id: params.id, status: "received" as const };
        },
        {
          params: IdParam("update_id"),
          response: {
            200: RetryAnswer,
            400: BadRequest,
            401: Unauthorized,
            404: NotFound("update", "no stored update with update_id 42; see GET /admin/updates"),
            409: errorBody("The update is not failed.", "update 42 cannot be retried: it is done; only failed updates can be retried"),
            503: Starting,
          },
          detail: {
            tags: ["updates"],
            summary: "Retry a failed update",
            description: "Puts a failed update back in the queue; it is handled again in its chat's order. 404 for an unknown update_id, 409 when the update is not failed.",
            security: SECURITY,
          },
        },
      )

      .get(
        "/outbox",
        ({ query }) => {
          const { outbox } = need();
          return outbox.list({ limit: query.limit ?? DEFAULT_PAGE, ...(query.status !== undefined ? { status: query.status } : {}) }).map(outboxAnswer);
        },
        {
          query: t.Object({ status: t.Optional(statusQuery(OUTBOX_STATUSES, "messages")), limit: t.Optional(Limit) }),
          response: { 200: OutboxList, 400: BadRequest, 401: Unauthorized, 503: Starting },
          detail: {
            tags: ["outbox"],
            summary: "List outbox messages, newest first",
            description: "Replies waiting to be sent, sent or failed. `?status=failed` shows messages Telegram refused (bot blocked, chat not found) or that ran out of attempts, with `last_error`; retry one with POST /admin/outbox/{id}/retry.",
            security: SECURITY,
          },
        },
      )
      .post(
        "/outbox/:id/retry",
        ({ params }) => {
          const { outbox } = need();
          const result = outbox.retry(params.id);
          if (result.outcome === "not_found") return status(404, { ok: false as const, error: `no outbox message with id ${params.id}; see GET /admin/outbox` });
          if (result.outcome === "not_failed") {
            return status(409, { ok: false as const, error: `message ${params.id} is ${result.status}; only failed messages can be retried` });
          }
          log.info("admin: failed message put back in its chat's queue", { outbox_id: params.id, chat_id: result.row.chatId, last_error: result.row.lastError });
          return outboxAnswer(result.row);
        },
        {
          params: IdParam("message id (`id` in GET /admin/outbox)"),
          response: {
            200: OutboxRetried,
            400: BadRequest,
            401: Unauthorized,
            404: NotFound("outbox message", "no outbox message with id 42; see GET /admin/outbox"),
            409: errorBody("The message is not failed (queued, sending or already sent).", "message 42 is sent; only failed messages can be retried"),
            503: Starting,
          },
          detail: {
            tags: ["outbox"],
            summary: "Retry a failed message",
            description:
              "Puts a failed message back in its chat's queue, with its attempts reset: it is sent after the messages already queued for that chat, with the same per-chat spacing and SEND_RATE_GLOBAL as any reply, and retried on 429/5xx as usual. `last_error` stays until it is sent. Answers the message as it is now (`status: queued`). 404 for an unknown id, 409 when the message is not failed.",
            security: SECURITY,
          },
        },
      )

      .post(
        "/backup",
        ({ body }) => {
          const { db } = need();
          try {
            const done = backupInto(db.$client, body.path);
            return { ok: true as const, path: done.path, bytes: done.bytes, ms: done.ms };
          } catch (error) {
            if (!(error instanceof BackupError)) throw error;
            if (error.failure === "exists") return status(409, { ok: false as const, error: error.message });
            if (error.failure === "write") return status(500, { ok: false as const, error: error.message });
            return status(400, { ok: false as const, error: error.message });
          }
        },
        {
          body: t.Object(
            { path: t.String({ minLength: 1, description: "Path of the new backup file, absolute or relative to timbre's working directory; it must not exist." }) },
            { example: { path: "/var/lib/timbre/backups/timbre-2024-06-01.db" } },
          ),
          response: {
            200: t.Object(
              { ok: t.Literal(true), path: t.String({ description: "Absolute path of the backup." }), bytes: t.Integer(), ms: t.Integer({ description: "How long the copy took." }) },
              { description: "The backup is written.", example: { ok: true, path: "/var/lib/timbre/backups/timbre-2024-06-01.db", bytes: 4096000, ms: 12 } },
            ),
            400: BadRequest,
            401: Unauthorized,
            409: errorBody("The file already exists; a backup never replaces one.", "/var/lib/timbre/backups/timbre.db already exists; a backup never replaces a file: choose a new name or remove the old one"),
            500: errorBody("Writing the backup failed (disk full, permissions).", "could not write the backup to /backups/timbre.db: unable to open database: /backups/timbre.db"),
            503: Starting,
          },
          detail: {
            tags: ["maintenance"],
            summary: "Back up the database",
            description:
              "Writes a consistent copy of the SQLite database to a new file with `VACUUM INTO`, while timbre keeps serving (requests wait while it copies: about 3 ms per MB). Refuses to replace an existing file (409); missing folders are created. Same as `timbre backup PATH`. Copying timbre.db with cp while timbre runs is not safe.",
            security: SECURITY,
          },
        },
      )
  );
}

import { Elysia, status, t } from "elysia";
import type { Logger } from "../observability/log.ts";
import { NotFound, SECURITY, type NeedParts } from "./route-parts.ts";
import { outboxAnswer, OutboxList, OutboxRetried, RetryAnswer, updateAnswer, UpdateList } from "./queue-schemas.ts";
import { BadRequest, Before, ELSEWHERE, DEFAULT_PAGE, errorBody, IdParam, Limit, NoBody, NoQuery, OUTBOX_STATUSES, Starting, StartingOrElsewhere, statusQuery, Unauthorized, UPDATE_STATUSES } from "./schemas.ts";

/** /admin/updates and /admin/outbox: what is stored and queued, dead letters and their retry (mounted by adminRoutes, behind its token check). */
export function queueAdminRoutes(log: Logger, need: NeedParts) {
  return new Elysia({ name: "admin-queues" })
    .get(
      "/updates",
      async ({ query }) => {
        const { inbox } = need();
        const rows = await inbox.list({
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
      async ({ params }) => {
        const { inbox, dispatcher } = need();
        const result = await inbox.retry(params.id);
        if (result === "not_found") return status(404, { ok: false as const, error: `no stored update with update_id ${params.id}; see GET /admin/updates` });
        if (result === "not_failed") {
          const row = await inbox.row(params.id);
          const why = row?.status === "failed" ? "its payload was pruned" : `it is ${row?.status ?? "gone"}`;
          return status(409, { ok: false as const, error: `update ${params.id} cannot be retried: ${why}; only failed updates can be retried` });
        }
        dispatcher.enqueue([result]);
        log.info("admin: failed update put back in the queue", { update_id: params.id, chat_id: result.chatId });
        return { ok: true as const, update_id: params.id, status: "received" as const };
      },
      {
        params: IdParam("update_id"),
        query: NoQuery,
        body: NoBody,
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
      async ({ query }) => {
        const { outbox } = need();
        const rows = await outbox.list({
          limit: query.limit ?? DEFAULT_PAGE,
          ...(query.status !== undefined ? { status: query.status } : {}),
          ...(query.before !== undefined ? { beforeId: query.before } : {}),
        });
        return rows.map(outboxAnswer);
      },
      {
        query: t.Object({ status: t.Optional(statusQuery(OUTBOX_STATUSES, "messages")), limit: t.Optional(Limit), before: t.Optional(Before) }),
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
      async ({ params }) => {
        const { outbox } = need();
        const result = await outbox.retry(params.id);
        if (result.outcome === "not_found") return status(404, { ok: false as const, error: `no outbox message with id ${params.id}; see GET /admin/outbox` });
        if (result.outcome === "not_failed") {
          return status(409, { ok: false as const, error: `message ${params.id} is ${result.status}; only failed messages can be retried` });
        }
        if (result.outcome === "elsewhere") return status(503, { ok: false as const, error: ELSEWHERE(`message ${params.id}`) });
        log.info("admin: failed message put back in its chat's queue", { outbox_id: params.id, chat_id: result.row.chatId, last_error: result.row.lastError });
        return outboxAnswer(result.row);
      },
      {
        params: IdParam("message id (`id` in GET /admin/outbox)"),
        query: NoQuery,
        body: NoBody,
        response: {
          200: OutboxRetried,
          400: BadRequest,
          401: Unauthorized,
          404: NotFound("outbox message", "no outbox message with id 42; see GET /admin/outbox"),
          409: errorBody("The message is not failed (queued, sending or already sent).", "message 42 is sent; only failed messages can be retried"),
          503: StartingOrElsewhere,
        },
        detail: {
          tags: ["outbox"],
          summary: "Retry a failed message",
          description:
            "Puts a failed message back in its chat's queue, with its attempts reset: it is sent after the messages already queued for that chat, with the same per-chat spacing and SEND_RATE_GLOBAL as any reply, and retried on 429/5xx as usual. `last_error` stays until it is sent. Answers the message as it is now (`status: queued`). 404 for an unknown id, 409 when the message is not failed.",
          security: SECURITY,
        },
      },
    );
}

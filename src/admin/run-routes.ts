import { Elysia, status, t } from "elysia";
import type { Logger } from "../observability/log.ts";
import { RunDetail, runDetailAnswer } from "./run-detail.ts";
import { NotFound, SECURITY, type NeedParts } from "./route-parts.ts";
import { CancelAnswer, runAnswer, RunList } from "./run-schemas.ts";
import { BadRequest, Before, ELSEWHERE, ConversationQuery, DEFAULT_PAGE, errorBody, IdParam, Limit, NoBody, NoQuery, oneOf, RUN_STATUSES, Starting, StartingOrElsewhere, statusQuery, Unauthorized } from "./schemas.ts";

/** /admin/runs: the runs, one run with its journal, cancel (mounted by adminRoutes, behind its token check). */
export function runAdminRoutes(log: Logger, need: NeedParts) {
  return new Elysia({ name: "admin-runs" })
    .get(
      "/runs",
      async ({ query }) => {
        const { runtime } = need();
        const rows = await runtime.list({
          limit: query.limit ?? DEFAULT_PAGE,
          ...(query.status !== undefined ? { status: query.status } : {}),
          ...(query.conversation !== undefined ? { conversation: query.conversation } : {}),
          ...(query.before !== undefined ? { beforeId: query.before } : {}),
          ...(query.asking === "true" ? { asking: true } : {}),
        });
        return rows.map(runAnswer);
      },
      {
        query: t.Object({
          status: t.Optional(statusQuery(RUN_STATUSES, "runs")),
          conversation: t.Optional(ConversationQuery),
          limit: t.Optional(Limit),
          before: t.Optional(Before),
          asking: t.Optional(
            oneOf(["true", "false"], {
              description: "`true`: only waiting runs with a pending question (leaving out those that sleep or wait out a step's backoff).",
              error: "asking must be true or false",
            }),
          ),
        }),
        response: { 200: RunList, 400: BadRequest, 401: Unauthorized, 503: Starting },
        detail: {
          tags: ["runs"],
          summary: "List agent runs, newest first",
          description:
            "Runs of the agent, newest first, optionally only one status (`waiting`: runs waiting on a question, a sleep or a step's backoff; `asking=true`: only those with a pending question) and one `conversation`. A waiting run carries its `pending_question` (text, when it was asked, when it times out). Page with `limit` and `before` (the last id of the previous page).",
          security: SECURITY,
        },
      },
    )
    .get(
      "/runs/:id",
      async ({ params }) => {
        const { runtime, outbox } = need();
        const run = await runtime.get(params.id);
        if (!run) return status(404, { ok: false as const, error: `no run with id ${params.id}; see GET /admin/runs` });
        return runDetailAnswer(run, await runtime.steps(run.id), await outbox.ofRun(run.id));
      },
      {
        params: IdParam("run id"),
        query: NoQuery,
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
      async ({ params }) => {
        const { runtime } = need();
        const outcome = await runtime.cancel(params.id);
        if (outcome.kind === "not_found") return status(404, { ok: false as const, error: `no run with id ${params.id}; see GET /admin/runs` });
        if (outcome.kind === "not_active") {
          return status(409, { ok: false as const, error: `run ${params.id} is ${outcome.status}; only running or waiting runs can be cancelled` });
        }
        if (outcome.kind === "elsewhere") return status(503, { ok: false as const, error: ELSEWHERE(`run ${params.id}`) });
        log.info("admin: run cancelled", { run_id: params.id, chat_id: outcome.run.chatId });
        return { ok: true as const, id: params.id, status: "cancelled" as const };
      },
      {
        params: IdParam("run id"),
        query: NoQuery,
        body: NoBody,
        response: {
          200: CancelAnswer,
          400: BadRequest,
          401: Unauthorized,
          404: NotFound("run", "no run with id 42; see GET /admin/runs"),
          409: errorBody("The run already ended.", "run 42 is done; only running or waiting runs can be cancelled"),
          503: StartingOrElsewhere,
        },
        detail: {
          tags: ["runs"],
          summary: "Cancel a run",
          description: "Ends a running or waiting run and its pending question at once, as /cancel in the chat would, and tells the user. 404 for an unknown id, 409 when the run already ended.",
          security: SECURITY,
        },
      },
    );
}

import { Elysia, t } from "elysia";
import type { Config } from "../config.ts";
import { SECURITY, type NeedParts } from "./route-parts.ts";
import { BadRequest, NoQuery, oneOf, Starting, Unauthorized } from "./schemas.ts";

const Stats = t.Object(
  {
    mode: oneOf(["webhook", "polling"]),
    uptime_seconds: t.Integer(),
    updates: t.Object({ received: t.Integer(), processing: t.Integer(), done: t.Integer(), failed: t.Integer() }),
    runs: t.Object({ running: t.Integer(), waiting: t.Integer({ description: "Runs waiting on a question (ctx.ask), a sleep (ctx.sleep) or a step's backoff between attempts." }), done: t.Integer(), failed: t.Integer(), cancelled: t.Integer() }),
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

/** GET /admin/stats: current totals by status (mounted by adminRoutes, behind its token check). */
export function statsRoute(config: Config, need: NeedParts) {
  return new Elysia({ name: "admin-stats" })
    .get(
      "/stats",
      async () => {
        const { inbox, runtime, outbox, clock, startedAt } = need();
        return {
          mode: config.botMode,
          uptime_seconds: Math.max(0, Math.floor((clock.now() - startedAt) / 1000)),
          updates: await inbox.counts(),
          runs: await runtime.counts(),
          outbox: await outbox.counts(),
        };
      },
      {
        query: NoQuery,
        response: { 200: Stats, 400: BadRequest, 401: Unauthorized, 503: Starting },
        detail: {
          tags: ["monitoring"],
          summary: "Counts by status, mode and uptime",
          description:
            "Current totals: updates (received = stored, not yet handled), runs (waiting = on a question, a sleep or a step's backoff) and outbox messages by status, the mode (webhook or polling) and the uptime in seconds.",
          security: SECURITY,
        },
      },
    );
}

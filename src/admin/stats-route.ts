import { Elysia } from "elysia";
import type { Config } from "../config.ts";
import { SECURITY, type NeedParts } from "./route-parts.ts";
import { Starting, Stats, Unauthorized } from "./schemas.ts";

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
        response: { 200: Stats, 401: Unauthorized, 503: Starting },
        detail: {
          tags: ["monitoring"],
          summary: "Counts by status, mode and uptime",
          description:
            "Current totals: updates (received = stored, not yet handled), runs (waiting = pending questions) and outbox messages by status, the mode (webhook or polling) and the uptime in seconds.",
          security: SECURITY,
        },
      },
    );
}

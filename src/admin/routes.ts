import { Elysia, status } from "elysia";
import type { Config } from "../config.ts";
import type { Logger } from "../observability/log.ts";
import { clientAddress } from "../ingest/trusted-ips.ts";
import { checkAdminToken, type AuthAttemptGuard } from "./auth.ts";
import { backupRoute } from "./backup-route.ts";
import { queueAdminRoutes } from "./queue-routes.ts";
import { ADMIN_PREFIX, type AdminParts } from "./route-parts.ts";
import { runAdminRoutes } from "./run-routes.ts";
import { statsRoute } from "./stats-route.ts";
import { WHOLE_NUMBER_ERRORS } from "./schemas.ts";
import { jsonObjectBody } from "./json-body.ts";
import { DASHBOARD_FILES } from "./ui/routes.ts";
import { webhookAdminRoutes } from "./webhook-routes.ts";

export { ADMIN_PREFIX, type AdminParts } from "./route-parts.ts";

export interface AdminOptions {
  config: Config;
  parts: () => AdminParts | undefined;
  /** Changes made through the admin API are logged (who changed the webhook, cancelled a run...). */
  log: Logger;
  /** Brute-force protection (issue 8) plugs in here. */
  guard?: AuthAttemptGuard;
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
      .onParse(jsonObjectBody)

      // Before validation, which would coerce " " to 0 and "0x10" to 16.
      .onTransform(({ params, query, request }) => {
        // Elysia keeps one value of a repeated query parameter: which one the caller meant is unknown.
        const names = [...new URL(request.url).searchParams.keys()];
        const repeated = names.find((name, i) => names.indexOf(name) !== i);
        if (repeated !== undefined) throw status(400, { ok: false as const, error: `${repeated} is given more than once; give it once` });
        for (const [name, value] of [...Object.entries(params ?? {}), ...Object.entries(query ?? {})]) {
          const error = WHOLE_NUMBER_ERRORS[name];
          if (error !== undefined && typeof value === "string" && !(/^\d{1,16}$/.test(value) && Number(value) <= Number.MAX_SAFE_INTEGER)) throw status(400, { ok: false as const, error });
        }
      })

      .use(webhookAdminRoutes(config, log, need))
      .use(statsRoute(config, need))
      .use(runAdminRoutes(log, need))
      .use(queueAdminRoutes(log, need))
      .use(backupRoute(need))
  );
}

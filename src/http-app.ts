import { Elysia } from "elysia";
import { apiDocs } from "./admin/docs.ts";
import { AuthLimiter, DEFAULT_AUTH_LIMITS } from "./admin/auth-limiter.ts";
import type { AdminParts } from "./admin/route-parts.ts";
import { adminRoutes } from "./admin/routes.ts";
import { dashboardRoutes } from "./admin/ui/routes.ts";
import { parseErrorMessage, validationMessage } from "./admin/validation-message.ts";
import type { Clock } from "./clock.ts";
import type { Config } from "./config.ts";
import type { IncomingUpdate, StoreResult } from "./ingest/inbox.ts";
import { trustedSourceCheck } from "./ingest/trusted-ips.ts";
import { jsonError, WEBHOOK_PATH, webhookHandler, webhookRoutes } from "./ingest/webhook.ts";
import { isTransientStorageError } from "./db/storage-error.ts";
import { listenError } from "./listen-error.ts";
import { errorFields, type Logger } from "./observability/log.ts";
import { Metrics } from "./observability/metrics.ts";

export interface HttpAppParts {
  config: Config;
  log: Logger;
  metrics: Metrics;
  clock: Clock;
  /** Where the webhook stores an update (the group commit). */
  inbox: { store(incoming: IncomingUpdate): Promise<StoreResult> };
  secret: string;
  shuttingDown: () => boolean;
  /** The admin routes' parts, once the service is wired. */
  adminParts: () => AdminParts | undefined;
  /** Throws when the database cannot answer (GET /healthz answers 503). */
  checkDatabase: () => unknown;
}

/** The HTTP face of either engine's service: the webhook, the admin API and its docs, the dashboard, /healthz, /metrics. */
export function httpApp(parts: HttpAppParts) {
  const { config, log, metrics, clock } = parts;
  // TRUSTED_IPS (empty = off): webhooks only from these ranges; X-Forwarded-For only with TRUST_PROXY.
  const sourceAllowed = trustedSourceCheck(config.trustedIps, config.trustProxy);
  const webhook = webhookHandler(parts.inbox, { secret: parts.secret, mode: config.botMode, shuttingDown: parts.shuttingDown, ...(sourceAllowed ? { sourceAllowed } : {}) }, log, metrics);
  const unhandled = (error: unknown) => {
    log.error("http: unhandled error", errorFields(error));
    return jsonError(500, "internal error; see the service log");
  };
  // The webhook is also one of Bun.serve's own routes, so a POST to it skips Elysia's pipeline.
  const routes = { [WEBHOOK_PATH]: { POST: (request: Request, server: Bun.Server<undefined>) => webhook(request, server).catch(unhandled) } };
  // normalize off: a body field the schema does not name (a misspelt `drop_pending`) is a 400
  // naming it, where Elysia would drop it silently; no response here relies on being trimmed.
  return new Elysia({ serve: { routes }, normalize: false })
    .onError(({ code, error }) => {
      if (code === "NOT_FOUND") return jsonError(404, "no such route; see /swagger for the admin API");
      // A validation error's message is a JSON document; its first value error is what a person can act on.
      if (code === "VALIDATION") return jsonError(400, validationMessage(error));
      // A thrown status(...) (admin routes) answers as itself.
      if (typeof code === "number") return;
      if (code === "PARSE") return jsonError(400, parseErrorMessage(error));
      // The database locked by another writer, full or read-only: a moment's trouble, not a bug.
      if (isTransientStorageError(error)) {
        log.warn("http: the database could not serve a request; it was answered 503", errorFields(error));
        return jsonError(503, "the database is busy or unavailable right now (locked, full or read-only); try again shortly", { "retry-after": "5" });
      }
      return unhandled(error);
    })
    .use(webhookRoutes(webhook))
    .use(adminRoutes({ config, parts: parts.adminParts, log, guard: new AuthLimiter(clock, DEFAULT_AUTH_LIMITS, log) }))
    .use(apiDocs())
    .use(dashboardRoutes())
    .get(
      "/healthz",
      async () => {
        try {
          await parts.checkDatabase();
          return Response.json({ status: "ok", mode: config.botMode, ...(config.sandbox ? { sandbox: true } : {}) });
        } catch (error) {
          return Response.json({ ok: false, status: "unavailable", mode: config.botMode, error: errorFields(error).error }, { status: 503 });
        }
      },
      { detail: { hide: true } },
    )
    .get("/metrics", async () => new Response(await metrics.render(), { headers: { "content-type": Metrics.contentType } }), { detail: { hide: true } });
}

export interface Listening {
  server: NonNullable<ReturnType<typeof httpApp>["server"]>;
  url: string;
  scheme: "http" | "https";
  tls: boolean;
}

/** Listens on HOST:PORT (with TLS_CERT_PATH and TLS_KEY_PATH, HTTPS); throws a ListenError that says what to fix. */
export function listen(app: ReturnType<typeof httpApp>, config: Config): Listening {
  const tls = config.tlsCertPath && config.tlsKeyPath ? { cert: Bun.file(config.tlsCertPath), key: Bun.file(config.tlsKeyPath) } : undefined;
  try {
    // Elysia asks for reusePort, which lets a second process share the port and split the requests.
    app.listen({ hostname: config.host, port: config.port, reusePort: false, ...(tls ? { tls } : {}) });
  } catch (error) {
    throw listenError(error, config.host, config.port, tls !== undefined);
  }
  const server = app.server!;
  const scheme = tls ? "https" : "http";
  const localHost = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  // An IPv6 address goes in brackets in a URL (http://[::1]:8080); the sandbox points its emulator at this one.
  const urlHost = localHost.includes(":") ? `[${localHost}]` : localHost;
  return { server, url: `${scheme}://${urlHost}:${server.port}`, scheme, tls: tls !== undefined };
}

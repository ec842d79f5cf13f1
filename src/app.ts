import { Elysia } from "elysia";
import { randomBytes } from "node:crypto";
import { agents } from "./agents/index.ts";
import { systemClock, type Clock } from "./clock.ts";
import type { Config } from "./config.ts";
import { openDatabase, type OpenDatabase } from "./db/index.ts";
import { Inbox } from "./ingest/inbox.ts";
import { resolveWebhookSecret } from "./ingest/webhook-secret.ts";
import { jsonError, webhookRoutes, WEBHOOK_PATH } from "./ingest/webhook.ts";
import { createLogger, errorFields, type Logger } from "./observability/log.ts";
import { Metrics } from "./observability/metrics.ts";
import type { Agent } from "./runtime/context.ts";
import { Dispatcher } from "./runtime/dispatcher.ts";
import { Runtime } from "./runtime/runs.ts";
import { BotApiEmulator } from "./sandbox/emulator.ts";
import { TelegramApi } from "./telegram/api.ts";
import { Outbox } from "./telegram/outbox.ts";

export interface ServiceOptions {
  clock?: Clock;
  logger?: Logger;
  /** Replaces the agent AGENT names (tests). */
  agent?: Agent;
  /** Outbox retry timing (tests shorten it). */
  backoffBaseMs?: number;
  backoffCapMs?: number;
}

export interface Service {
  /** Base URL of the HTTP server (http or https). */
  url: string;
  port: number;
  config: Config;
  secret: string;
  database: OpenDatabase;
  inbox: Inbox;
  dispatcher: Dispatcher;
  runtime: Runtime;
  outbox: Outbox;
  api: TelegramApi;
  metrics: Metrics;
  /** The in-process Bot API emulator (sandbox mode only). */
  emulator: BotApiEmulator | undefined;
  /** Graceful stop: refuse new updates, let work in flight reach a stored state, close the database. */
  stop(): Promise<void>;
}

const PRUNE_EVERY_MS = 10 * 60_000;

/** Wires every part together and starts serving. The caller owns signals and exit codes. */
export async function startService(config: Config, options: ServiceOptions = {}): Promise<Service> {
  const clock = options.clock ?? systemClock;
  const startedAt = clock.now();
  const database = openDatabase(config.databasePath);
  const { db } = database;
  const secret = resolveWebhookSecret(db, config.webhookSecret);
  const emulator = config.sandbox ? new BotApiEmulator({ token: `1:sandbox-${randomBytes(12).toString("base64url")}` }) : undefined;
  const token = config.botToken ?? emulator!.token;
  const log = options.logger ?? createLogger(config.logLevel, [token, secret, config.adminToken ?? ""]);
  const metrics = new Metrics();
  const inbox = new Inbox(db, clock);
  let shuttingDown = false;

  const app = new Elysia()
    .onError(({ code, error }) => {
      if (code === "NOT_FOUND") return jsonError(404, "no such route; see /swagger for the admin API");
      if (code === "VALIDATION" || code === "PARSE") return jsonError(400, error instanceof Error ? error.message.split("\n")[0]! : "invalid request");
      log.error("http: unhandled error", errorFields(error));
      return jsonError(500, "internal error; see the service log");
    })
    .use(webhookRoutes(inbox, { secret, mode: config.botMode, shuttingDown: () => shuttingDown }, log, metrics))
    .get(
      "/healthz",
      () => {
        try {
          database.sqlite.query("SELECT 1").get();
          return Response.json({ status: "ok", mode: config.botMode, ...(config.sandbox ? { sandbox: true } : {}) });
        } catch (error) {
          return Response.json({ status: "unavailable", mode: config.botMode, error: errorFields(error).error }, { status: 503 });
        }
      },
      { detail: { hide: true } },
    )
    .get("/metrics", () => new Response(metrics.render(), { headers: { "content-type": "text/plain; version=0.0.4" } }), { detail: { hide: true } });

  if (emulator) {
    app.all("/sandbox/api/*", ({ request }) => emulator.fetch(request), { parse: "none", detail: { hide: true } });
  }

  const tls = config.tlsCertPath && config.tlsKeyPath ? { cert: Bun.file(config.tlsCertPath), key: Bun.file(config.tlsKeyPath) } : undefined;
  app.listen({ hostname: config.host, port: config.port, ...(tls ? { tls } : {}) });
  const server = app.server!;
  const scheme = tls ? "https" : "http";
  const localHost = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  const url = `${scheme}://${localHost}:${server.port}`;

  const apiUrl = emulator ? `${url}/sandbox/api` : config.apiUrl;
  const api = new TelegramApi({ apiUrl, token, observe: (method, outcome) => metrics.botApiCalls.inc({ method, outcome }) });
  const outbox = new Outbox(
    db,
    api,
    clock,
    log,
    {
      ratePerChat: config.sendRatePerChat,
      rateGlobal: config.sendRateGlobal,
      concurrency: config.sendConcurrency,
      maxAttempts: config.sendMaxAttempts,
      ...(options.backoffBaseMs !== undefined ? { backoffBaseMs: options.backoffBaseMs } : {}),
      ...(options.backoffCapMs !== undefined ? { backoffCapMs: options.backoffCapMs } : {}),
    },
    metrics,
  );
  const runtime = new Runtime(db, inbox, outbox, options.agent ?? agents[config.agent], clock, log, {
    agentName: config.agent,
    maxConcurrency: config.maxConcurrency,
    askTimeoutSeconds: config.askTimeoutSeconds,
  }, metrics);
  const dispatcher = new Dispatcher(inbox, (update) => runtime.route(update), config.maxConcurrency, log, metrics);

  outbox.start();
  runtime.start();
  dispatcher.start();

  metrics.gauge("timbre_outbox_messages", "Outbox messages by status.", () =>
    Object.entries(outbox.counts()).map(([status, value]) => ({ labels: { status }, value })),
  );
  metrics.gauge("timbre_runs", "Agent runs by status (waiting = pending questions).", () =>
    Object.entries(runtime.counts()).map(([status, value]) => ({ labels: { status }, value })),
  );
  metrics.gauge("timbre_updates", "Stored updates by status.", () =>
    Object.entries(inbox.counts()).map(([status, value]) => ({ labels: { status }, value })),
  );

  const prune = () => {
    try {
      const updates = inbox.prune();
      const messages = outbox.prune();
      const oldRuns = runtime.prune();
      log.debug("pruned old rows", { ...updates, outbox_deleted: messages, runs_deleted: oldRuns });
    } catch (error) {
      log.error("pruning failed", errorFields(error));
    }
  };
  const janitor = setInterval(prune, PRUNE_EVERY_MS);
  janitor.unref();

  if (emulator) {
    const hook = await api.call("setWebhook", { url: `${url}${WEBHOOK_PATH}`, secret_token: secret, allowed_updates: config.allowedUpdates as never });
    if (!hook.ok) log.error("sandbox: could not point the emulator's webhook at timbre", { error: hook.description });
    log.info(`sandbox mode: open http://localhost:${server.port}/sandbox to chat with the bot; set TELEGRAM_BOT_TOKEN for a real bot`, {
      port: server.port,
    });
  }
  log.info("timbre is serving", { url, mode: config.botMode, agent: config.agent, sandbox: config.sandbox, uptime_ms: clock.now() - startedAt });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      shuttingDown = true;
      log.info("shutting down: refusing new updates, finishing work in flight");
      clearInterval(janitor);
      emulator?.stop();
      await dispatcher.stop();
      await runtime.stop();
      await outbox.stop();
      api.abortAll();
      await server.stop(true);
      database.close();
      log.info("stopped");
    })());

  return { url, port: server.port!, config, secret, database, inbox, dispatcher, runtime, outbox, api, metrics, emulator, stop };
}

import { randomBytes } from "node:crypto";
import { agentFromCode, loadAgent } from "./agents/load-agent.ts";
import { llmAgent } from "./agents/llm/agent.ts";
import { systemClock, type Clock } from "./clock.ts";
import type { Config } from "./config.ts";
import type { AdminParts } from "./admin/route-parts.ts";
import { backupInto } from "./db/backup.ts";
import { openDatabase, type OpenDatabase } from "./db/index.ts";
import { sqliteSettings } from "./db/settings.ts";
import { httpApp, listen, type Listening } from "./http-app.ts";
import { holdInstanceLock } from "./db/instance-lock.ts";
import { Inbox, type StoredUpdate } from "./ingest/inbox.ts";
import { Poller, type PollerTiming } from "./ingest/poller.ts";
import { sqlitePollInbox } from "./ingest/poll-inbox.ts";
import { resolveWebhookSecret } from "./ingest/webhook-secret.ts";
import { WEBHOOK_PATH } from "./ingest/webhook.ts";
import { createLogger, errorFields, type Logger } from "./observability/log.ts";
import { Metrics } from "./observability/metrics.ts";
import { serviceIdleCollector } from "./memory/service-collector.ts";
import type { Agent } from "./runtime/context.ts";
import { Dispatcher } from "./runtime/dispatcher.ts";
import { Runtime } from "./runtime/runs.ts";
import { sqliteRunStorage } from "./runtime/run-storage.ts";
import { BotApiEmulator } from "./sandbox/emulator.ts";
import { sandboxRoutes } from "./sandbox/routes.ts";
import { SandboxStore } from "./sandbox/store.ts";
import { needsBotUsername } from "./ingest/update-fields.ts";
import { TelegramApi } from "./telegram/api.ts";
import { BotIdentity } from "./telegram/bot-identity.ts";
import { Outbox, sqliteOutboxStorage } from "./telegram/outbox.ts";
import { desiredWebhook, ensureWebhookOnStart } from "./telegram/webhook-control.ts";

export interface ServiceOptions {
  clock?: Clock;
  logger?: Logger;
  /** Replaces the agent AGENT names (tests); its version is its `version`, else a hash of its source. */
  agent?: Agent;
  /** Outbox retry timing (tests shorten it). */
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** Polling retry timing (tests shorten it). */
  pollTiming?: Partial<PollerTiming>;
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
  /** The bot's username from getMe (asked in the background on start). */
  identity: BotIdentity;
  metrics: Metrics;
  /** The in-process Bot API emulator (sandbox mode only). */
  emulator: BotApiEmulator | undefined;
  /** The getUpdates loop (BOT_MODE=polling only). */
  poller: Poller | undefined;
  /** Graceful stop: refuse new updates, let work in flight reach a stored state, close the database. */
  stop(): Promise<void>;
}

const PRUNE_EVERY_MS = 10 * 60_000;
/** How long stop() waits for runs and sends in flight; the rest of SPEC's 10 s is for closing. */
const STOP_BUDGET_MS = 8_000;

/**
 * Wires every part together and starts serving. The caller owns signals and exit codes. An agent
 * module that cannot serve throws AgentLoadError (a ConfigError) before anything is opened.
 */
export async function startService(config: Config, options: ServiceOptions = {}): Promise<Service> {
  const clock = options.clock ?? systemClock;
  const startedAt = clock.now();
  const metrics = new Metrics();
  // Built-ins made from their configuration log through the service's logger, made below.
  const throughLog: Logger = { debug: (m, f) => log.debug(m, f), info: (m, f) => log.info(m, f), warn: (m, f) => log.warn(m, f), error: (m, f) => log.error(m, f) };
  const loaded = options.agent
    ? agentFromCode(config.agent, options.agent)
    : await loadAgent(config.agent, { llm: () => llmAgent(config.llm!, { log: throughLog, metrics, clock }) });
  // First of all: a second instance on this database stops here, before migrating or listening.
  const instanceLock = holdInstanceLock(config.databasePath);
  let database: OpenDatabase;
  let secret: string;
  try {
    database = openDatabase(config.databasePath);
    secret = await resolveWebhookSecret(sqliteSettings(database.db), config.webhookSecret);
  } catch (error) {
    instanceLock.release();
    throw error;
  }
  const { db } = database;
  // The sandbox's Telegram side lives in this database too: chats and update ids survive restarts.
  const emulator = config.sandbox ? new BotApiEmulator({ token: `1:sandbox-${randomBytes(12).toString("base64url")}`, store: new SandboxStore(db, clock) }) : undefined;
  const token = config.botToken ?? emulator!.token;
  const log = options.logger ?? createLogger(config.logLevel, [token, secret, config.adminToken ?? "", config.llm?.apiKey ?? ""]);
  if (instanceLock.unsupported) log.warn(`instance lock: ${instanceLock.unsupported}`);
  const inbox = new Inbox(db, clock);
  const settings = sqliteSettings(db);
  let shuttingDown = false;
  let adminParts: AdminParts | undefined;

  const app = httpApp({
    config,
    log,
    metrics,
    clock,
    inbox,
    secret,
    shuttingDown: () => shuttingDown,
    adminParts: () => adminParts,
    checkDatabase: () => database.sqlite.query("SELECT 1").get(),
  });

  if (emulator) {
    app.all("/sandbox/api/*", ({ request }) => emulator.fetch(request), { parse: "none", detail: { hide: true } });
    // The runtime is built after the server listens; until then the page simply sees no waiting runs.
    app.use(
      sandboxRoutes({
        emulator,
        log,
        agent: loaded.name,
        waitingChats: () => runtime.list({ status: "waiting", limit: 1000 }).map((run) => ({ chatId: run.chatId, question: run.pendingQuestion?.text ?? "" })),
      }),
    );
  }

  let listening: Listening;
  try {
    listening = listen(app, config);
  } catch (error) {
    database.close();
    instanceLock.release();
    throw error;
  }
  const { server, url, scheme, tls } = listening;

  // Behind a self-signed TLS_CERT_PATH the bot could not verify its own server: it talks to the
  // emulator on a loopback plain-HTTP port instead.
  const apiUrl = emulator ? (tls ? emulator.listen() : `${url}/sandbox/api`) : config.apiUrl;
  const observe = (method: string, outcome: "ok" | "error" | "network") => metrics.botApiCalls.inc({ method, outcome });
  const api = new TelegramApi({ apiUrl, token, observe });
  const outbox = new Outbox(
    sqliteOutboxStorage(db, log),
    api,
    clock,
    log,
    {
      ratePerChat: config.sendRatePerChat,
      ratePerGroup: config.sendRatePerGroup,
      rateGlobal: config.sendRateGlobal,
      concurrency: config.sendConcurrency,
      maxAttempts: config.sendMaxAttempts,
      ...(options.backoffBaseMs !== undefined ? { backoffBaseMs: options.backoffBaseMs } : {}),
      ...(options.backoffCapMs !== undefined ? { backoffCapMs: options.backoffCapMs } : {}),
    },
    metrics,
  );
  // getMe in the background: the username tells timbre's commands from other bots' (`/start@other_bot`).
  const identity = new BotIdentity({ api, clock, log });
  const runtime = new Runtime({
    storage: sqliteRunStorage(db),
    inbox,
    outbox,
    agent: loaded.agent,
    clock,
    log,
    metrics,
    settings: {
      agentName: loaded.name,
      agentVersion: loaded.version,
      maxConcurrency: config.maxConcurrency,
      askTimeoutSeconds: config.askTimeoutSeconds,
      botUsername: () => identity.username,
    },
  });
  const route = async (update: StoredUpdate) => {
    // A command addressed to some bot waits (a few seconds at most, only after start) until timbre knows its name.
    if (identity.username === undefined && needsBotUsername(update.update)) await identity.whenKnown();
    return runtime.route(update);
  };
  const dispatcher = new Dispatcher(inbox, route, config.maxConcurrency, log, metrics);
  // The poller has its own TelegramApi: stopping aborts the long poll without cutting the outbox's sends.
  const poller =
    config.botMode === "polling"
      ? new Poller(
          { api: new TelegramApi({ apiUrl, token, observe }), inbox: sqlitePollInbox(inbox), settings, clock, log, metrics },
          { allowedUpdates: config.allowedUpdates, ...(options.pollTiming ? { timing: options.pollTiming } : {}) },
        )
      : undefined;
  adminParts = { settings, backup: (path) => backupInto(db.$client, path), secret, api, inbox, runtime, outbox, dispatcher, clock, startedAt };

  identity.start();
  // The queued rows a previous process left are tracked before any new one, keeping each chat's order.
  await outbox.start();
  await runtime.start();
  dispatcher.start();
  poller?.start();

  const byStatus = (counts: () => Record<string, number>) => () => Object.entries(counts()).map(([status, value]) => ({ labels: { status }, value }));
  metrics.gauge("timbre_outbox_messages", "Outbox messages by status.", byStatus(() => outbox.counts()));
  metrics.gauge("timbre_runs", "Agent runs by status (waiting = pending questions).", byStatus(() => runtime.counts()));
  metrics.gauge("timbre_updates", "Stored updates by status.", byStatus(() => inbox.counts()));

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
  // After a burst, give back its garbage and the buffers its objects held (docs/memory.md).
  const idleCollector = serviceIdleCollector(database.sqlite, metrics, log);
  idleCollector.start();

  const webhookSetup = new AbortController();
  if (emulator && config.botMode === "webhook") {
    const hook = await api.call("setWebhook", { url: `${url}${WEBHOOK_PATH}`, secret_token: secret, allowed_updates: config.allowedUpdates as never });
    if (!hook.ok) log.error("sandbox: could not point the emulator's webhook at timbre", { error: hook.description });
  } else if (!emulator && config.botMode === "webhook") {
    const desired = desiredWebhook(config, secret);
    if (desired) void ensureWebhookOnStart(api, settings, desired, log, clock, webhookSetup.signal);
    else log.info("webhook mode without PUBLIC_URL: setWebhook is left to you (PUT /admin/webhook or `timbre webhook set --url ...`)");
  }
  if (emulator) {
    const loopback = config.host.startsWith("127.") || config.host === "::1" || config.host === "localhost";
    const reach = loopback
      ? `listening on ${config.host} only (set HOST=0.0.0.0 to share it)`
      : `listening on HOST=${config.host}: anyone who reaches port ${server.port} can chat with the bot`;
    log.info(`sandbox mode: open ${scheme}://localhost:${server.port}/sandbox to chat with the bot; ${reach}; set TELEGRAM_BOT_TOKEN for a real bot`, {
      host: config.host,
      port: server.port,
    });
  }
  log.info("timbre is serving", { url, mode: config.botMode, agent: loaded.name, agent_version: loaded.version, sandbox: config.sandbox, uptime_ms: clock.now() - startedAt });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      const stopStarted = performance.now();
      const stopDeadline = stopStarted + STOP_BUDGET_MS;
      shuttingDown = true;
      log.info("shutting down: refusing new updates, finishing work in flight");
      webhookSetup.abort();
      identity.stop();
      await poller?.stop();
      clearInterval(janitor);
      idleCollector.stop();
      emulator?.stop();
      await dispatcher.stop();
      // One budget for every wait, so the process exits within SPEC's 10 s (main.ts forces it at 10 s).
      const left = () => Math.max(0, stopDeadline - performance.now());
      await runtime.stop(left());
      await outbox.stop(left());
      api.abortAll();
      // Updates already past the shutting-down check finish their group commit before the database closes.
      await inbox.settle();
      await server.stop(true);
      try {
        database.close();
      } finally {
        instanceLock.release();
      }
      log.info("stopped", { stop_ms: Math.round(performance.now() - stopStarted) });
    })());

  return { url, port: server.port!, config, secret, database, inbox, dispatcher, runtime, outbox, api, identity, metrics, emulator, poller, stop };
}

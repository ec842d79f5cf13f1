import { randomBytes } from "node:crypto";
import { systemClock, type Clock } from "./clock.ts";
import type { Config } from "./config.ts";
import type { AdminParts } from "./admin/route-parts.ts";
import { backupInto } from "./db/backup.ts";
import { openDatabase, type OpenDatabase } from "./db/index.ts";
import { sqliteSettings } from "./db/settings.ts";
import { httpApp, listen, type Listening } from "./http-app.ts";
import { holdInstanceLock } from "./db/instance-lock.ts";
import { Inbox } from "./ingest/inbox.ts";
import { Poller } from "./ingest/poller.ts";
import { sqlitePollInbox } from "./ingest/poll-inbox.ts";
import { resolveWebhookSecret } from "./ingest/webhook-secret.ts";
import { WEBHOOK_PATH } from "./ingest/webhook.ts";
import { Metrics } from "./observability/metrics.ts";
import type { Logger } from "./observability/log.ts";
import { serviceIdleCollector } from "./memory/service-collector.ts";
import { Dispatcher } from "./runtime/dispatcher.ts";
import { Runtime } from "./runtime/runs.ts";
import { sqliteRunStorage } from "./runtime/run-storage.ts";
import { BotApiEmulator } from "./sandbox/emulator.ts";
import { sandboxRoutes } from "./sandbox/routes.ts";
import { SandboxStore } from "./sandbox/store.ts";
import { stopInOrder } from "./service-stop.ts";
import { answerRecentTaps } from "./telegram/recent-taps.ts";
import {
  ensureConfiguredWebhook,
  loadServiceAgent,
  observedTelegramApi,
  outboxSettings,
  pollerOptions,
  routeKnowingBotName,
  runtimeSettings,
  serviceLogger,
  startJanitor,
  statusGauges,
  type ServiceOptions,
} from "./service-wiring.ts";
import type { TelegramApi } from "./telegram/api.ts";
import { BotIdentity } from "./telegram/bot-identity.ts";
import { Outbox, sqliteOutboxStorage } from "./telegram/outbox.ts";

export type { ServiceOptions };

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
  /** The service's logger (it never prints the token or the secrets). */
  log: Logger;
  /** Graceful stop: refuse new updates, let work in flight reach a stored state, close the database. */
  stop(): Promise<void>;
}

/**
 * Wires every part together and starts serving. The caller owns signals and exit codes. An agent
 * module that cannot serve throws AgentLoadError (a ConfigError) before anything is opened.
 */
export async function startService(config: Config, options: ServiceOptions = {}): Promise<Service> {
  const clock = options.clock ?? systemClock;
  const startedAt = clock.now();
  const metrics = new Metrics();
  const loaded = await loadServiceAgent(config, options, { log: () => log, metrics, clock });
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
  const log = serviceLogger(config, options, token, secret);
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
        ...(config.llm ? { model: config.llm.model } : {}),
        // A sleeping run waits too, on no question: only those asking are "waiting for your answer".
        waitingChats: () => runtime.list({ asking: true, limit: 1000 }).flatMap((run) => (run.pendingQuestion ? [{ chatId: run.chatId, question: run.pendingQuestion.text }] : [])),
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
  const api = observedTelegramApi(apiUrl, token, metrics);
  const outbox = new Outbox(sqliteOutboxStorage(db, log), api, clock, log, outboxSettings(config, options), metrics);
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
    settings: runtimeSettings(config, loaded, identity),
  });
  const route = routeKnowingBotName(identity, (update) => runtime.route(update));
  const dispatcher = new Dispatcher(inbox, route, config.maxConcurrency, log, metrics);
  const arrival = runtime.arrivalRouter((chatId) => dispatcher.isIdleFor(chatId));
  if (arrival) inbox.answerOnArrival(arrival);
  // The poller has its own TelegramApi: stopping aborts the long poll without cutting the outbox's sends.
  const poller =
    config.botMode === "polling"
      ? new Poller({ api: observedTelegramApi(apiUrl, token, metrics), inbox: sqlitePollInbox(inbox), settings, clock, log, metrics }, pollerOptions(config, options))
      : undefined;
  adminParts = { settings, backup: (path) => backupInto(db.$client, path), secret, api, inbox, runtime, outbox, dispatcher, clock, startedAt };

  identity.start();
  // The queued rows a previous process left are tracked before any new one, keeping each chat's order.
  await outbox.start();
  await runtime.start();
  dispatcher.start();
  poller?.start();
  answerRecentTaps(inbox, { api, clock, log });

  statusGauges(metrics, { outbox, runtime, inbox });
  const janitor = startJanitor(log, () => ({ ...inbox.prune(), outbox_deleted: outbox.prune(), runs_deleted: runtime.prune() }));
  // After a burst, give back its garbage and the buffers its objects held (docs/memory.md).
  const idleCollector = serviceIdleCollector(database.sqlite, metrics, log);
  idleCollector.start();

  const webhookSetup = new AbortController();
  if (emulator && config.botMode === "webhook") {
    const hook = await api.call("setWebhook", { url: `${url}${WEBHOOK_PATH}`, secret_token: secret, allowed_updates: config.allowedUpdates as never });
    if (!hook.ok) log.error("sandbox: could not point the emulator's webhook at timbre", { error: hook.description });
  } else if (!emulator && config.botMode === "webhook") {
    ensureConfiguredWebhook(config, secret, { api, settings, log, clock, signal: webhookSetup.signal });
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

  const stop = stopInOrder(
    { log, refuseUpdates: () => void (shuttingDown = true), webhookSetup, identity, poller, janitor, idleCollector, dispatcher, runtime, outbox, api, inbox, server },
    {
      afterIntake: () => emulator?.stop(),
      closeDatabase: () => {
        try {
          database.close();
        } finally {
          instanceLock.release();
        }
      },
    },
  );

  return { url, port: server.port!, config, secret, database, inbox, dispatcher, runtime, outbox, api, identity, metrics, emulator, poller, log, stop };
}

import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { AdminParts } from "./admin/route-parts.ts";
import { agentFromCode, loadAgent } from "./agents/load-agent.ts";
import { llmAgent } from "./agents/llm/agent.ts";
import type { ServiceOptions } from "./app.ts";
import { systemClock } from "./clock.ts";
import { ConfigError, type Config } from "./config.ts";
import { openPostgres } from "./db/pg/index.ts";
import { Leases } from "./db/pg/leases.ts";
import { RateLimits } from "./db/pg/rate-limit.ts";
import { PgSession } from "./db/pg/session.ts";
import { Wakeups } from "./db/pg/wakeups.ts";
import { pgSettings } from "./db/settings.ts";
import { httpApp, listen } from "./http-app.ts";
import type { StoredUpdate } from "./ingest/inbox.ts";
import { PgInbox } from "./ingest/pg-inbox.ts";
import { pgPollInbox } from "./ingest/poll-inbox.ts";
import { PollLeadership } from "./ingest/poll-leadership.ts";
import { Poller } from "./ingest/poller.ts";
import { needsBotUsername } from "./ingest/update-fields.ts";
import { resolveWebhookSecret } from "./ingest/webhook-secret.ts";
import { createLogger, errorFields, type Logger } from "./observability/log.ts";
import { Metrics } from "./observability/metrics.ts";
import { serviceIdleCollector } from "./memory/service-collector.ts";
import { ChatClaims } from "./runtime/chat-claims.ts";
import { Dispatcher } from "./runtime/dispatcher.ts";
import { LeasedChats } from "./runtime/leased-chats.ts";
import { LeaseLostError } from "./db/pg/leases.ts";
import { pgRunStorage } from "./runtime/run-storage.ts";
import type { PgRunReads } from "./runtime/run-reads.ts";
import { Runtime } from "./runtime/runs.ts";
import { TelegramApi } from "./telegram/api.ts";
import { BotIdentity } from "./telegram/bot-identity.ts";
import { Outbox, pgOutboxStorage } from "./telegram/outbox.ts";
import type { PgOutboxRows } from "./telegram/outbox-rows.ts";
import { sharedSendRate } from "./telegram/send-rate.ts";
import { desiredWebhook, ensureWebhookOnStart } from "./telegram/webhook-control.ts";

/** How long a chat stays an instance's without a renewal: how soon its chats move on when it dies. */
export const LEASE_MS = 5_000;
const PRUNE_EVERY_MS = 10 * 60_000;
/** Lease rows expired this long are deleted by the janitor. */
const LEASE_ROW_KEEP_MS = 24 * 3_600_000;
const STOP_BUDGET_MS = 8_000;

export interface PgService {
  url: string;
  port: number;
  config: Config;
  secret: string;
  /** This instance's lease holder id. */
  holder: string;
  inbox: PgInbox;
  runtime: Runtime<PgRunReads>;
  outbox: Outbox<PgOutboxRows>;
  dispatcher: Dispatcher;
  api: TelegramApi;
  metrics: Metrics;
  /** The getUpdates loop (BOT_MODE=polling only): it polls while this instance leads. */
  poller: Poller | undefined;
  stop(): Promise<void>;
}

/**
 * The service on PostgreSQL (DATABASE_URL): the same parts as startService over the PostgreSQL
 * stores, working on the chats whose leases it holds (docs/several-instances.md), so any number
 * of instances can share one bot.
 */
export async function startPgService(config: Config, options: ServiceOptions = {}): Promise<PgService> {
  if (config.sandbox || !config.botToken || !config.databaseUrl) {
    throw new ConfigError("DATABASE_URL needs TELEGRAM_BOT_TOKEN: the sandbox keeps its emulated Telegram in SQLite; unset DATABASE_URL to try timbre in the sandbox");
  }
  const clock = options.clock ?? systemClock;
  const startedAt = clock.now();
  const metrics = new Metrics();
  const throughLog: Logger = { debug: (m, f) => log.debug(m, f), info: (m, f) => log.info(m, f), warn: (m, f) => log.warn(m, f), error: (m, f) => log.error(m, f) };
  const loaded = options.agent
    ? agentFromCode(config.agent, options.agent)
    : await loadAgent(config.agent, { llm: () => llmAgent(config.llm!, { log: throughLog, metrics, clock }) });
  const pg = await openPostgres(config.databaseUrl);
  const session = new PgSession(pg.sql);
  const settings = pgSettings(session);
  let secret: string;
  try {
    secret = await resolveWebhookSecret(settings, config.webhookSecret);
  } catch (error) {
    await pg.close();
    throw error;
  }
  const token = config.botToken;
  const log = options.logger ?? createLogger(config.logLevel, [token, secret, config.adminToken ?? "", config.llm?.apiKey ?? ""]);
  const holder = `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  const inbox = new PgInbox(session, clock);
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
    checkDatabase: () => pg.sql`SELECT 1`,
  });
  let listening;
  try {
    listening = listen(app, config);
  } catch (error) {
    await pg.close();
    throw error;
  }
  const { server, url } = listening;

  const observe = (method: string, outcome: "ok" | "error" | "network") => metrics.botApiCalls.inc({ method, outcome });
  const api = new TelegramApi({ apiUrl: config.apiUrl!, token, observe });
  let claims: ChatClaims | undefined;
  const leases = new Leases(pg.sql, clock);
  const chats = new LeasedChats({
    session,
    leases,
    holder,
    ttlMs: LEASE_MS,
    clock,
    onAcquired: (chatIds) => void claims?.adopt(chatIds),
    onLost: (chatIds) => claims?.drop(chatIds),
    onError: (error) => log.warn("instances: renewing this instance's chat leases failed; retrying", errorFields(error)),
  });
  const outbox = new Outbox(
    pgOutboxStorage(session),
    api,
    clock,
    log,
    {
      ratePerChat: config.sendRatePerChat,
      ratePerGroup: config.sendRatePerGroup,
      rateGlobal: config.sendRateGlobal,
      concurrency: config.sendConcurrency,
      maxAttempts: config.sendMaxAttempts,
      scope: chats,
      sendRate: sharedSendRate(new RateLimits(pg.sql), config.sendRateGlobal),
      ...(options.backoffBaseMs !== undefined ? { backoffBaseMs: options.backoffBaseMs } : {}),
      ...(options.backoffCapMs !== undefined ? { backoffCapMs: options.backoffCapMs } : {}),
    },
    metrics,
  );
  const identity = new BotIdentity({ api, clock, log });
  const runtime = new Runtime({
    storage: pgRunStorage(session),
    inbox,
    outbox,
    agent: loaded.agent,
    clock,
    log,
    metrics,
    scope: chats,
    settings: {
      agentName: loaded.name,
      agentVersion: loaded.version,
      maxConcurrency: config.maxConcurrency,
      askTimeoutSeconds: config.askTimeoutSeconds,
      botUsername: () => identity.username,
    },
  });
  const route = async (update: StoredUpdate) => {
    if (identity.username === undefined && needsBotUsername(update.update)) await identity.whenKnown();
    try {
      await runtime.route(update);
    } catch (error) {
      // The chat passed to another instance meanwhile: the update is still received, and its new owner routes it.
      if (!(error instanceof LeaseLostError)) throw error;
    }
  };
  const dispatcher = new Dispatcher(inbox, route, config.maxConcurrency, log, metrics);
  // BOT_MODE=polling: the instance holding the "poller" lease polls; the others stand by.
  const poller =
    config.botMode === "polling"
      ? new Poller(
          {
            api: new TelegramApi({ apiUrl: config.apiUrl!, token, observe }),
            inbox: pgPollInbox(inbox),
            settings,
            clock,
            log,
            metrics,
            leadership: new PollLeadership({ leases: new Leases(pg.sql, clock), session, instance: holder, clock, log }),
          },
          { allowedUpdates: config.allowedUpdates, ...(options.pollTiming ? { timing: options.pollTiming } : {}) },
        )
      : undefined;
  const wakeups = new Wakeups(pg.sql, { onError: (error) => log.warn("instances: a NOTIFY failed; the scan finds the work instead", errorFields(error)) });
  claims = new ChatClaims({ sql: pg.sql, chats, wakeups, inbox, dispatcher, runtime, outbox, holder, clock, log });
  adminParts = { settings, backup: undefined, secret, api, inbox, runtime, outbox, dispatcher, clock, startedAt };

  identity.start();
  chats.start();
  await outbox.start();
  await claims.start();
  poller?.start();

  const byStatus = (counts: () => Promise<Record<string, number>>) => async () => Object.entries(await counts()).map(([status, value]) => ({ labels: { status }, value }));
  metrics.gauge("timbre_outbox_messages", "Outbox messages by status.", byStatus(() => outbox.counts()));
  metrics.gauge("timbre_runs", "Agent runs by status (waiting = pending questions).", byStatus(() => runtime.counts()));
  metrics.gauge("timbre_updates", "Stored updates by status.", byStatus(() => inbox.counts()));

  const prune = async () => {
    try {
      const updates = await inbox.prune();
      const messages = await outbox.prune();
      const oldRuns = await runtime.prune();
      // Released and expired chat leases; a chat seen again gets a new row (and a new token).
      const oldLeases = await leases.prune(LEASE_ROW_KEEP_MS);
      log.debug("pruned old rows", { ...updates, outbox_deleted: messages, runs_deleted: oldRuns, leases_deleted: oldLeases });
    } catch (error) {
      log.error("pruning failed", errorFields(error));
    }
  };
  const janitor = setInterval(() => void prune(), PRUNE_EVERY_MS);
  janitor.unref();
  const idleCollector = serviceIdleCollector(undefined, metrics, log);
  idleCollector.start();

  const webhookSetup = new AbortController();
  const desired = config.botMode === "webhook" ? desiredWebhook(config, secret) : undefined;
  if (desired) void ensureWebhookOnStart(api, settings, desired, log, clock, webhookSetup.signal);
  else if (config.botMode === "webhook") log.info("webhook mode without PUBLIC_URL: setWebhook is left to you (PUT /admin/webhook or `timbre webhook set --url ...`)");
  log.info("timbre is serving", { url, mode: config.botMode, agent: loaded.name, agent_version: loaded.version, database: "postgresql", instance: holder, uptime_ms: clock.now() - startedAt });

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
      await claims.stop();
      await dispatcher.stop();
      const left = () => Math.max(0, stopDeadline - performance.now());
      await runtime.stop(left());
      await outbox.stop(left());
      api.abortAll();
      await inbox.settle();
      await wakeups.flush().catch(() => {});
      // Released last: the other instances take this one's chats over at once.
      await chats.stop().catch((error: unknown) => log.warn("instances: could not release the chat leases; they expire on their own", errorFields(error)));
      await server.stop(true);
      await pg.close();
      log.info("stopped", { stop_ms: Math.round(performance.now() - stopStarted) });
    })());

  return { url, port: server.port!, config, secret, holder, inbox, runtime, outbox, dispatcher, api, metrics, poller, stop };
}

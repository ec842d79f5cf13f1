import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { AdminParts } from "./admin/route-parts.ts";
import { systemClock } from "./clock.ts";
import { ConfigError, type Config } from "./config.ts";
import { openPostgres } from "./db/pg/index.ts";
import { Leases } from "./db/pg/leases.ts";
import { RateLimits } from "./db/pg/rate-limit.ts";
import { PgSession } from "./db/pg/session.ts";
import { Wakeups } from "./db/pg/wakeups.ts";
import { pgSettings } from "./db/settings.ts";
import { httpApp, listen } from "./http-app.ts";
import { PgInbox } from "./ingest/pg-inbox.ts";
import { pgPollInbox } from "./ingest/poll-inbox.ts";
import { PollLeadership } from "./ingest/poll-leadership.ts";
import { Poller } from "./ingest/poller.ts";
import { resolveWebhookSecret } from "./ingest/webhook-secret.ts";
import { errorFields, type Logger } from "./observability/log.ts";
import { Metrics } from "./observability/metrics.ts";
import { serviceIdleCollector } from "./memory/service-collector.ts";
import { ChatClaims } from "./runtime/chat-claims.ts";
import { Dispatcher } from "./runtime/dispatcher.ts";
import { LeasedChats } from "./runtime/leased-chats.ts";
import { LeaseLostError } from "./db/pg/leases.ts";
import { pgRunStorage } from "./runtime/run-storage.ts";
import type { PgRunReads } from "./runtime/run-reads.ts";
import { Runtime } from "./runtime/runs.ts";
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
import { Outbox, pgOutboxStorage } from "./telegram/outbox.ts";
import type { PgOutboxRows } from "./telegram/outbox-rows.ts";
import { sharedSendRate } from "./telegram/send-rate.ts";

/** How long a chat stays an instance's without a renewal: how soon its chats move on when it dies. */
export const LEASE_MS = 5_000;
/** Lease rows expired this long are deleted by the janitor. */
const LEASE_ROW_KEEP_MS = 24 * 3_600_000;

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
  /** The service's logger (it never prints the token or the secrets). */
  log: Logger;
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
  const loaded = await loadServiceAgent(config, options, { log: () => log, metrics, clock });
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
  const log = serviceLogger(config, options, token, secret);
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

  const api = observedTelegramApi(config.apiUrl, token, metrics);
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
  const sendRate = sharedSendRate(new RateLimits(pg.sql), config.sendRateGlobal);
  const outbox = new Outbox(pgOutboxStorage(session), api, clock, log, { ...outboxSettings(config, options), scope: chats, sendRate }, metrics);
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
    settings: runtimeSettings(config, loaded, identity),
  });
  const route = routeKnowingBotName(identity, async (update) => {
    try {
      await runtime.route(update);
    } catch (error) {
      // The chat passed to another instance meanwhile: the update is still received, and its new owner routes it.
      if (!(error instanceof LeaseLostError)) throw error;
    }
  });
  const dispatcher = new Dispatcher(inbox, route, config.maxConcurrency, log, metrics);
  // BOT_MODE=polling: the instance holding the "poller" lease polls; the others stand by.
  const poller =
    config.botMode === "polling"
      ? new Poller(
          {
            api: observedTelegramApi(config.apiUrl, token, metrics),
            inbox: pgPollInbox(inbox),
            settings,
            clock,
            log,
            metrics,
            leadership: new PollLeadership({ leases: new Leases(pg.sql, clock), session, instance: holder, clock, log }),
          },
          pollerOptions(config, options),
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
  answerRecentTaps(inbox, { api, clock, log });

  statusGauges(metrics, { outbox, runtime, inbox });
  const janitor = startJanitor(log, async () => {
    const updates = await inbox.prune();
    const messages = await outbox.prune();
    const oldRuns = await runtime.prune();
    // Released and expired chat leases; a chat seen again gets a new row (and a new token).
    const oldLeases = await leases.prune(LEASE_ROW_KEEP_MS);
    return { ...updates, outbox_deleted: messages, runs_deleted: oldRuns, leases_deleted: oldLeases };
  });
  const idleCollector = serviceIdleCollector(undefined, metrics, log);
  idleCollector.start();

  const webhookSetup = new AbortController();
  if (config.botMode === "webhook") ensureConfiguredWebhook(config, secret, { api, settings, log, clock, signal: webhookSetup.signal });
  log.info("timbre is serving", { url, mode: config.botMode, agent: loaded.name, agent_version: loaded.version, database: "postgresql", instance: holder, uptime_ms: clock.now() - startedAt });

  const stop = stopInOrder(
    { log, refuseUpdates: () => void (shuttingDown = true), webhookSetup, identity, poller, janitor, idleCollector, dispatcher, runtime, outbox, api, inbox, server },
    {
      afterIntake: () => claims.stop(),
      afterInbox: async () => {
        await wakeups.flush().catch(() => {});
        // Released last: the other instances take this one's chats over at once.
        await chats.stop().catch((error: unknown) => log.warn("instances: could not release the chat leases; they expire on their own", errorFields(error)));
      },
      closeDatabase: () => pg.close(),
    },
  );

  return { url, port: server.port!, config, secret, holder, inbox, runtime, outbox, dispatcher, api, metrics, poller, log, stop };
}

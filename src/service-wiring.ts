// The parts the SQLite service (app.ts) and the PostgreSQL one (pg-app.ts) wire the same way, so
// that each app file states only what its engine does differently.
import { agentFromCode, loadAgent, type LoadedAgent } from "./agents/load-agent.ts";
import { llmAgent } from "./agents/llm/agent.ts";
import type { Clock } from "./clock.ts";
import type { Config } from "./config.ts";
import type { SettingsStore } from "./db/settings.ts";
import type { StoredUpdate } from "./ingest/inbox.ts";
import type { PollerOptions, PollerTiming } from "./ingest/poller.ts";
import { needsBotUsername } from "./ingest/update-fields.ts";
import { createLogger, errorFields, type LogFields, type Logger } from "./observability/log.ts";
import type { Metrics } from "./observability/metrics.ts";
import type { Agent } from "./runtime/context.ts";
import type { UpdateHandler } from "./runtime/dispatcher.ts";
import type { RuntimeSettings } from "./runtime/runtime-parts.ts";
import { TelegramApi } from "./telegram/api.ts";
import type { BotIdentity } from "./telegram/bot-identity.ts";
import type { OutboxSettings } from "./telegram/outbox-types.ts";
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
  /** The agent is loaded and the database is about to be opened (a signal before this has nothing to close). */
  onAgentLoaded?: () => void;
}

const PRUNE_EVERY_MS = 10 * 60_000;

/**
 * The agent AGENT names (or options.agent), loaded before anything is opened: a module that
 * cannot serve throws AgentLoadError. Built-ins made from their configuration log through
 * `log()`, the service's logger, which is made later (it redacts the webhook secret).
 */
export async function loadServiceAgent(config: Config, options: ServiceOptions, parts: { log: () => Logger; metrics: Metrics; clock: Clock }): Promise<LoadedAgent> {
  const { log, metrics, clock } = parts;
  const throughLog: Logger = { debug: (m, f) => log().debug(m, f), info: (m, f) => log().info(m, f), warn: (m, f) => log().warn(m, f), error: (m, f) => log().error(m, f) };
  const loaded = options.agent ? agentFromCode(config.agent, options.agent) : await loadAgent(config.agent, { llm: () => llmAgent(config.llm!, { log: throughLog, metrics, clock }) });
  options.onAgentLoaded?.();
  return loaded;
}

/** options.logger, else one at LOG_LEVEL that never prints the token, the secrets or the LLM key. */
export function serviceLogger(config: Config, options: ServiceOptions, token: string, secret: string): Logger {
  return options.logger ?? createLogger(config.logLevel, [token, secret, config.adminToken ?? "", config.llm?.apiKey ?? ""]);
}

/** A Bot API client whose calls count in timbre_bot_api_calls_total. */
export function observedTelegramApi(apiUrl: string, token: string, metrics: Metrics): TelegramApi {
  const observe = (method: string, outcome: "ok" | "error" | "network") => metrics.botApiCalls.inc({ method, outcome });
  return new TelegramApi({ apiUrl, token, observe });
}

/** The outbox's rates, concurrency and attempts from config; the retry timing from options (tests). */
export function outboxSettings(config: Config, options: ServiceOptions): OutboxSettings {
  return {
    ratePerChat: config.sendRatePerChat,
    ratePerGroup: config.sendRatePerGroup,
    rateGlobal: config.sendRateGlobal,
    concurrency: config.sendConcurrency,
    maxAttempts: config.sendMaxAttempts,
    ...(options.backoffBaseMs !== undefined ? { backoffBaseMs: options.backoffBaseMs } : {}),
    ...(options.backoffCapMs !== undefined ? { backoffCapMs: options.backoffCapMs } : {}),
  };
}

/** What each run records about the agent, the limits from config, and the bot's name once getMe told it. */
export function runtimeSettings(config: Config, loaded: LoadedAgent, identity: BotIdentity): RuntimeSettings {
  return {
    agentName: loaded.name,
    agentVersion: loaded.version,
    maxConcurrency: config.maxConcurrency,
    askTimeoutSeconds: config.askTimeoutSeconds,
    botUsername: () => identity.username,
  };
}

/** BOT_MODE=polling: the update types to ask for; the retry timing from options (tests). */
export function pollerOptions(config: Config, options: ServiceOptions): PollerOptions {
  return { allowedUpdates: config.allowedUpdates, ...(options.pollTiming ? { timing: options.pollTiming } : {}) };
}

/** `route`, except that a command addressed to some bot first waits until timbre knows its own name. */
export function routeKnowingBotName(identity: BotIdentity, route: (update: StoredUpdate) => Promise<void>): UpdateHandler {
  return async (update, aside) => {
    // A few seconds at most, and only after start: getMe runs in the background. The chat waits;
    // the other chats' updates go on meanwhile.
    if (identity.username === undefined && needsBotUsername(update.update)) await aside(identity.whenKnown());
    return route(update);
  };
}

/**
 * BOT_MODE=webhook with a real bot: points Telegram at PUBLIC_URL in the background (retried until
 * `signal` aborts), or says that setting the webhook is left to the operator.
 */
export function ensureConfiguredWebhook(config: Config, secret: string, parts: { api: TelegramApi; settings: SettingsStore; log: Logger; clock: Clock; signal: AbortSignal }): void {
  const { api, settings, log, clock, signal } = parts;
  const desired = desiredWebhook(config, secret);
  // In the background: a bug there must be logged, not end the process as an unhandled rejection.
  if (desired) ensureWebhookOnStart(api, settings, desired, log, clock, signal).catch((error: unknown) => log.error("webhook: setting it on start failed; set it with PUT /admin/webhook", errorFields(error)));
  else log.info("webhook mode without PUBLIC_URL: setWebhook is left to you (PUT /admin/webhook or `timbre webhook set --url ...`)");
}

/** Rows by status, from the database (on PostgreSQL a query). */
interface CountsByStatus {
  counts(): Record<string, number> | Promise<Record<string, number>>;
}

/** The gauges of stored outbox messages, runs and updates by status, read at each scrape. */
export function statusGauges(metrics: Metrics, stores: { outbox: CountsByStatus; runtime: CountsByStatus; inbox: CountsByStatus }): void {
  const byStatus = (store: CountsByStatus) => async () => Object.entries(await store.counts()).map(([status, value]) => ({ labels: { status }, value }));
  metrics.gauge("timbre_outbox_messages", "Outbox messages by status.", byStatus(stores.outbox));
  metrics.gauge("timbre_runs", "Agent runs by status (waiting = on a question, a sleep or a step's backoff).", byStatus(stores.runtime));
  metrics.gauge("timbre_updates", "Stored updates by status.", byStatus(stores.inbox));
}

export interface Janitor {
  stop(): void;
}

/** Every ten minutes, `prune` deletes old rows and says how many; a failure is logged and tried again next time. */
export function startJanitor(log: Logger, prune: () => LogFields | Promise<LogFields>): Janitor {
  const pruneOnce = async () => {
    try {
      log.debug("pruned old rows", await prune());
    } catch (error) {
      log.error("pruning failed", errorFields(error));
    }
  };
  const timer = setInterval(() => void pruneOnce(), PRUNE_EVERY_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

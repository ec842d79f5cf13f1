import type { Listening } from "./http-app.ts";
import type { Poller } from "./ingest/poller.ts";
import type { IdleCollector } from "./memory/idle-collector.ts";
import type { Logger } from "./observability/log.ts";
import type { Dispatcher } from "./runtime/dispatcher.ts";
import type { Janitor } from "./service-wiring.ts";
import type { TelegramApi } from "./telegram/api.ts";
import type { BotIdentity } from "./telegram/bot-identity.ts";

/** How long stop() waits for runs and sends in flight; the rest of SPEC's 10 s is for closing. */
const STOP_BUDGET_MS = 8_000;

/** What stop() stops on either engine. */
export interface StoppingParts {
  log: Logger;
  /** From here on the HTTP routes refuse new updates. */
  refuseUpdates(): void;
  webhookSetup: AbortController;
  identity: BotIdentity;
  poller: Poller | undefined;
  janitor: Janitor;
  idleCollector: IdleCollector;
  dispatcher: Dispatcher;
  runtime: { stop(waitMs: number): Promise<void> };
  outbox: { stop(waitMs: number): Promise<void> };
  api: TelegramApi;
  inbox: { settle(): Promise<void> };
  server: Listening["server"];
}

/** The steps that differ per engine, each run at its place in the order. */
export interface EngineStopSteps {
  /** Once nothing new comes in, before the dispatcher drains: the sandbox emulator; PostgreSQL's chat claims. */
  afterIntake(): void | Promise<void>;
  /** Once the inbox has settled, before the server closes: PostgreSQL's wakeups and chat leases. */
  afterInbox?(): Promise<void>;
  /** Last: close the database and what guards it. */
  closeDatabase(): void | Promise<void>;
}

/**
 * The service's stop(), which does its work once however often it is called: refuse new updates,
 * stop what brings work in, let runs and sends in flight reach a stored state, then close.
 */
export function stopInOrder(parts: StoppingParts, engine: EngineStopSteps): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => (stopping ??= stopAll(parts, engine));
}

async function stopAll(parts: StoppingParts, engine: EngineStopSteps): Promise<void> {
  const { log } = parts;
  const stopStarted = performance.now();
  const stopDeadline = stopStarted + STOP_BUDGET_MS;
  parts.refuseUpdates();
  log.info("shutting down: refusing new updates, finishing work in flight");
  parts.webhookSetup.abort();
  parts.identity.stop();
  await parts.poller?.stop();
  parts.janitor.stop();
  parts.idleCollector.stop();
  await engine.afterIntake();
  await parts.dispatcher.stop();
  // One budget for every wait, so the process exits within SPEC's 10 s (main.ts forces it at 10 s).
  const left = () => Math.max(0, stopDeadline - performance.now());
  // The outbox starts no new send from here (what is queued goes out after the next start) and
  // has the whole budget to record the sends in flight, however long a run takes to stop.
  const outboxStopped = parts.outbox.stop(left());
  await parts.runtime.stop(left());
  await outboxStopped;
  parts.api.abortAll();
  // Updates already past the shutting-down check finish their group commit before the database closes.
  await parts.inbox.settle();
  await engine.afterInbox?.();
  await parts.server.stop(true);
  await engine.closeDatabase();
  log.info("stopped", { stop_ms: Math.round(performance.now() - stopStarted) });
}

import type { Clock } from "../clock.ts";
import type { Op } from "../db/op.ts";
import type { UpdateStatus } from "../db/schema.ts";
import type { StoredUpdate } from "../ingest/inbox.ts";
import type { Logger } from "../observability/log.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Outbox } from "../telegram/outbox.ts";
import type { AnyOutboxRows } from "../telegram/outbox-rows.ts";
import type { ChatScope } from "./chat-scope.ts";
import type { Agent } from "./context.ts";
import type { AnyRunReads, SqliteRunReads } from "./run-reads.ts";
import type { RunStorage } from "./run-storage.ts";

/** A Runtime's settings, from the configuration (recorded on runs, or limits). */
export interface RuntimeSettings {
  /** AGENT as configured (recorded on each run). */
  agentName: string;
  /** The agent's version (recorded on each run). */
  agentVersion: string;
  /** MAX_CONCURRENCY: executions at once, across chats. */
  maxConcurrency: number;
  /** ASK_TIMEOUT_SECONDS. */
  askTimeoutSeconds: number;
  /** timbre's username (getMe), to tell its commands from other bots'; undefined until known. */
  botUsername?: () => string | undefined;
  /** "typing" shows after a run has worked this long (default 1 s), and is refreshed at this interval (default 4 s). */
  typingAfterMs?: number;
  typingEveryMs?: number;
}

/** What a Runtime (runs.ts) is built from. */
export interface RuntimeDeps<Reads extends AnyRunReads = SqliteRunReads> {
  storage: RunStorage<Reads>;
  inbox: RunInbox;
  outbox: RunOutbox;
  agent: Agent;
  clock: Clock;
  log: Logger;
  metrics?: Metrics;
  settings: RuntimeSettings;
  /** The chats this instance works on (default: every chat, as on SQLite). */
  scope?: ChatScope;
}

/** What the runtime needs of the inbox (either engine's): reads and status writes inside its transactions. */
export interface RunInbox {
  read(updateId: number): Op<StoredUpdate | undefined>;
  writeStatus(updateIds: number | number[], status: UpdateStatus, error?: string | null): Op<void>;
}

/** The outbox on either engine, as the runtime uses it (it stores through enqueueOp inside its transactions). */
export type RunOutbox = Pick<Outbox<AnyOutboxRows>, "enqueueOp" | "typing" | "answerCallbackQuery">;

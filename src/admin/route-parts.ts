import type { Clock } from "../clock.ts";
import type { BackupResult } from "../db/backup.ts";
import type { RunStatus, UpdateStatus, OutboxStatus } from "../db/schema.ts";
import type { SettingsStore } from "../db/settings.ts";
import type { StoredUpdate } from "../ingest/inbox.ts";
import type { UpdateRow } from "../ingest/inbox-store.ts";
import type { CancelOutcome } from "../runtime/runs.ts";
import type { ListedRun, RunListFilter } from "../runtime/run-reads.ts";
import type { RunRow, StepRow } from "../runtime/run-store.ts";
import type { TelegramApi } from "../telegram/api.ts";
import type { OutboxRetry, OutboxRow } from "../telegram/outbox.ts";
import { failureText } from "../telegram/bot-api-answer.ts";
import { errorBody } from "./schemas.ts";

/** What every admin route file shares. */

export const ADMIN_PREFIX = "/admin";

/** SQLite's parts answer at once, PostgreSQL's with promises: the routes await either. */
type Answer<T> = T | Promise<T>;

export interface AdminInbox {
  list(filter: { status?: UpdateStatus; limit: number; beforeUpdateId?: number }): Answer<UpdateRow[]>;
  retry(updateId: number): Answer<StoredUpdate | "not_found" | "not_failed">;
  row(updateId: number): Answer<UpdateRow | undefined>;
  counts(): Answer<Record<UpdateStatus, number>>;
}

export interface AdminRuntime {
  list(filter: RunListFilter): Answer<ListedRun[]>;
  get(runId: number): Answer<RunRow | undefined>;
  steps(runId: number): Answer<StepRow[]>;
  counts(): Answer<Record<RunStatus, number>>;
  cancel(runId: number): Promise<CancelOutcome>;
}

export interface AdminOutbox {
  list(filter: { status?: OutboxStatus; limit: number; beforeId?: number }): Answer<OutboxRow[]>;
  ofRun(runId: number): Answer<OutboxRow[]>;
  counts(): Answer<Record<OutboxStatus, number>>;
  retry(id: number): Promise<OutboxRetry>;
}

/** What the admin routes act on; ready once the service is wired (the server listens a moment earlier). */
export interface AdminParts {
  settings: SettingsStore;
  /** An online copy of the database into a new file (SQLite); undefined on PostgreSQL (pg_dump). */
  backup: ((path: string) => BackupResult) | undefined;
  /** The webhook secret, always sent with setWebhook. */
  secret: string;
  api: TelegramApi;
  inbox: AdminInbox;
  runtime: AdminRuntime;
  outbox: AdminOutbox;
  dispatcher: { enqueue(updates: StoredUpdate[]): void };
  clock: Clock;
  /** Unix ms of the start (for uptime). */
  startedAt: number;
}

/** The parts, or a thrown 503 in the instant between listen() and the wiring. */
export type NeedParts = () => AdminParts;

export const SECURITY = [{ bearerAuth: [] }];
export const NotFound = (what: string, example: string) => errorBody(`No such ${what}.`, example);

export const telegramError = failureText;

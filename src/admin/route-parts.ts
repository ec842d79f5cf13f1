import type { Clock } from "../clock.ts";
import type { Db } from "../db/index.ts";
import type { Inbox } from "../ingest/inbox.ts";
import type { Dispatcher } from "../runtime/dispatcher.ts";
import type { Runtime } from "../runtime/runs.ts";
import type { ApiOutcome, TelegramApi } from "../telegram/api.ts";
import type { Outbox } from "../telegram/outbox.ts";
import { errorBody } from "./schemas.ts";

/** What every admin route file shares. */

export const ADMIN_PREFIX = "/admin";

/** What the admin routes act on; ready once the service is wired (the server listens a moment earlier). */
export interface AdminParts {
  db: Db;
  /** The webhook secret, always sent with setWebhook. */
  secret: string;
  api: TelegramApi;
  inbox: Inbox;
  runtime: Runtime;
  outbox: Outbox;
  dispatcher: Dispatcher;
  clock: Clock;
  /** Unix ms of the start (for uptime). */
  startedAt: number;
}

/** The parts, or a thrown 503 in the instant between listen() and the wiring. */
export type NeedParts = () => AdminParts;

export const SECURITY = [{ bearerAuth: [] }];
export const NotFound = (what: string, example: string) => errorBody(`No such ${what}.`, example);

export function telegramError(method: string, outcome: Extract<ApiOutcome<unknown>, { ok: false }>): string {
  if (outcome.code === 0) return `could not reach Telegram for ${method}: ${outcome.description}`;
  if (outcome.code >= 500) return `Telegram failed ${method} (${outcome.code}): ${outcome.description}`;
  return `Telegram refused ${method} (${outcome.code}): ${outcome.description}`;
}

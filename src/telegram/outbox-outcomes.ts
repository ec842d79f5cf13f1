import type { Op } from "../db/op.ts";
import type { Logger } from "../observability/log.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { ApiOutcome } from "./api.ts";
import type { SendRow } from "./outbox-send.ts";
import type { OutboxStore, SentMark } from "./outbox-store.ts";

/** What an answer does to its chat's queue, once its outcome is committed. */
export type ChatChange =
  /** The row is done (sent or failed for good): the chat goes on with its next row from `notBefore`. */
  | { kind: "next"; notBefore: number }
  /** The row is sent again from `notBefore` (a 429, a 5xx or a network error). */
  | { kind: "again"; notBefore: number }
  /** The group became the supergroup `to`: the row and those queued behind it go there, in order. */
  | { kind: "moved"; to: number };

export interface OutcomeDeps {
  store: OutboxStore;
  metrics?: Metrics;
  log: Logger;
  /** SEND_MAX_ATTEMPTS. */
  maxAttempts: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  random: () => number;
  /** The spacing between two messages to this chat. */
  intervalFor(chatId: number): number;
}

/**
 * Writes one answer's outcome (inside the tick's commit) and says what it does to the chat's queue.
 * A 429 waits exactly `retry_after` and is not an attempt; any 5xx and network errors back off with
 * jitter up to SEND_MAX_ATTEMPTS; a 400 with migrate_to_chat_id moves the chat's rows, its
 * description kept in last_error until the row is sent; anything else fails the row for good.
 */
export function* writeOutcome(
  deps: OutcomeDeps,
  row: SendRow,
  outcome: ApiOutcome<{ message_id: number }>,
  at: number,
  queuedInChat: number,
  /** Where a sent row's mark goes: the caller writes the tick's marks together. */
  sent: SentMark[],
): Op<ChatChange> {
  const { store, metrics, log } = deps;
  const ids = { outbox_id: row.id, chat_id: row.chat_id, run_id: row.run_id ?? undefined, update_id: row.update_id ?? undefined };
  const attempts = row.attempts + 1;
  const spaced = at + deps.intervalFor(row.chat_id);
  if (outcome.ok) {
    sent.push({ id: row.id, messageId: outcome.result.message_id, attempts, at });
    metrics?.outboxSent.inc();
    return { kind: "next", notBefore: spaced };
  }
  if (outcome.code === 429) {
    const waitMs = (outcome.retryAfter ?? 1) * 1000;
    yield* store.markRetry(row.id, row.attempts, at + waitMs, outcome.description, at);
    metrics?.outboxRetries.inc({ reason: "429" });
    // A retry, as the 5xx ones are: shown at warn.
    log.warn("outbox: rate limited by Telegram, pausing the chat", { ...ids, retry_after: outcome.retryAfter });
    return { kind: "again", notBefore: Math.max(spaced, at + waitMs) };
  }
  if ((outcome.code === 0 || outcome.code >= 500) && attempts < deps.maxAttempts) {
    const backoff = Math.min(deps.backoffCapMs, deps.backoffBaseMs * 2 ** (attempts - 1)) * (0.5 + deps.random() / 2);
    yield* store.markRetry(row.id, attempts, at + backoff, outcome.description, at);
    metrics?.outboxRetries.inc({ reason: outcome.code === 0 ? "network" : "5xx" });
    log.warn("outbox: send failed, will retry", { ...ids, attempts, retry_in_ms: Math.round(backoff), error: outcome.description });
    return { kind: "again", notBefore: Math.max(spaced, at + backoff) };
  }
  if (outcome.code === 400 && outcome.migrateToChatId !== undefined && outcome.migrateToChatId !== row.chat_id) {
    const to = outcome.migrateToChatId;
    yield* store.markMoved(row.id, to, outcome.description, at);
    yield* store.moveQueued(row.chat_id, to, at);
    metrics?.outboxRetries.inc({ reason: "migrated" });
    log.info("outbox: the group became a supergroup; sending its messages there", { ...ids, migrate_to_chat_id: to, queued: queuedInChat });
    return { kind: "moved", to };
  }
  yield* store.markFailed(row.id, attempts, outcome.description, at);
  metrics?.outboxFailed.inc();
  log.error("outbox: message failed, not retrying", { ...ids, code: outcome.code, attempts, error: outcome.description });
  return { kind: "next", notBefore: spaced };
}

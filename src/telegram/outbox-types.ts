import type { ChatScope } from "../runtime/chat-scope.ts";
import type { SendRate } from "./send-rate.ts";
import type { OutboxStatus, outbox } from "../db/schema.ts";

/** What the outbox takes, and what it answers. */

interface OutboundBase {
  chatId: number;
  runId?: number;
  updateId?: number;
}

/** A message to send (the default). */
export interface OutboundText extends OutboundBase {
  method?: "sendMessage";
  text: string;
  /** sendMessage options besides chat_id and text (parse_mode, reply_markup, message_thread_id...). */
  options?: Record<string, unknown>;
}

/** A new inline keyboard for a message already sent (editMessageReplyMarkup), in the chat's order and rate like messages. */
export interface OutboundMarkupEdit extends OutboundBase {
  method: "editMessageReplyMarkup";
  messageId: number;
  /** The new keyboard; omitted, the keyboard is removed. */
  replyMarkup?: Record<string, unknown>;
  /** Other editMessageReplyMarkup options (business_connection_id). */
  options?: Record<string, unknown>;
}

export type OutboundMessage = OutboundText | OutboundMarkupEdit;

export interface OutboxSettings {
  /** Messages a second to one private chat (SEND_RATE_PER_CHAT). */
  ratePerChat: number;
  /** Messages a second to one group, supergroup or channel: a negative chat id (SEND_RATE_PER_GROUP, default ratePerChat). */
  ratePerGroup?: number;
  /** Messages a second overall (SEND_RATE_GLOBAL). */
  rateGlobal: number;
  /** Sends in flight at once (SEND_CONCURRENCY). */
  concurrency: number;
  /** Attempts before a message that keeps meeting 5xx or network errors fails (SEND_MAX_ATTEMPTS). */
  maxAttempts: number;
  /** First retry delay after a 5xx or network error; doubles each attempt up to backoffCapMs, with jitter. */
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** The chats this instance sends for (default: every chat, as on SQLite). */
  scope?: ChatScope;
  /** SEND_RATE_GLOBAL as kept (default: a token bucket in this process). */
  sendRate?: SendRate;
}

export type OutboxRow = typeof outbox.$inferSelect;

/** What `Outbox.retry` did: queued the row again, or why not. */
/** `elsewhere`: another instance holds the message's chat right now (PostgreSQL); nothing was written. */
export type OutboxRetry = { outcome: "queued"; row: OutboxRow } | { outcome: "not_found" } | { outcome: "not_failed"; status: OutboxStatus } | { outcome: "elsewhere" };


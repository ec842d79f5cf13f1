import type { AgentUser, ReplyOptions } from "../runtime/context.ts";
import type { StoredUpdate } from "./inbox.ts";
import type { TelegramUpdate } from "./update-shape.ts";

/** Reading an update's fields as the runtime needs them: its text, its sender, its conversation, where replies go. */

function messageOf(update: TelegramUpdate): Record<string, unknown> | undefined {
  const message = update.message;
  return typeof message === "object" && message !== null ? (message as Record<string, unknown>) : undefined;
}

/** Agents are started and answered by text messages only. */
export function textOf(update: TelegramUpdate): string | undefined {
  const text = messageOf(update)?.text;
  return typeof text === "string" ? text : undefined;
}

export function userOf(update: TelegramUpdate): AgentUser | undefined {
  for (const value of Object.values(update)) {
    if (typeof value !== "object" || value === null) continue;
    const from = (value as { from?: unknown; user?: unknown }).from ?? (value as { user?: unknown }).user;
    if (typeof from === "object" && from !== null && typeof (from as AgentUser).id === "number") return from as AgentUser;
  }
  return undefined;
}

/** Replies in a forum topic go to the same topic. */
export function threadOf(update: TelegramUpdate): number | undefined {
  const message = messageOf(update);
  return message?.is_topic_message === true && typeof message.message_thread_id === "number" ? message.message_thread_id : undefined;
}

/** sendMessage options that make a reply (or typing) go where the update came from. */
export function replyTargetOf(update: TelegramUpdate): ReplyOptions {
  const thread = threadOf(update);
  return thread !== undefined ? { message_thread_id: thread } : {};
}

/** One user in one chat; in a private chat (user id = chat id) simply the chat. */
export function conversationOf(update: StoredUpdate): string {
  const chat = update.chatId ?? 0;
  return update.userId === null || update.userId === chat ? `${chat}` : `${chat}:${update.userId}`;
}

export function isCancel(text: string): boolean {
  return /^\/cancel(@\w+)?$/i.test(text.trim());
}

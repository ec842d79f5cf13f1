import type { TelegramUpdate } from "../runtime/context.ts";

/** What the inbox and the router need to know about an update, read without trusting its shape. */
export interface UpdateInfo {
  kind: string;
  chatId: number | null;
  userId: number | null;
}

export type { TelegramUpdate };

const MAX_UPDATE_ID = Number.MAX_SAFE_INTEGER;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function idOf(value: unknown): number | null {
  return isObject(value) && typeof value.id === "number" && Number.isSafeInteger(value.id) ? value.id : null;
}

/** A JSON object with an integer update_id from 0 to 2^53-1; null otherwise. */
export function asUpdate(value: unknown): TelegramUpdate | null {
  if (!isObject(value)) return null;
  const id = value.update_id;
  if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > MAX_UPDATE_ID) return null;
  return value as TelegramUpdate;
}

/**
 * The update type is its one key besides update_id. The chat is taken from the object
 * (or, for callback queries, its message); without a chat, the user stands in for it.
 */
export function describeUpdate(update: TelegramUpdate): UpdateInfo {
  const kind = Object.keys(update).find((k) => k !== "update_id") ?? "unknown";
  const body = update[kind];
  if (!isObject(body)) return { kind, chatId: null, userId: null };
  const userId = idOf(body.from) ?? idOf(body.user) ?? idOf(body.sender_chat);
  const nestedMessage = isObject(body.message) ? body.message : undefined;
  const chatId = idOf(body.chat) ?? idOf(nestedMessage?.chat) ?? userId;
  return { kind, chatId, userId };
}

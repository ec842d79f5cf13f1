import type { TelegramUpdate } from "../runtime/context.ts";
import { chatSourceOf, isUpdateType } from "./update-types.ts";

/** What the inbox and the router need to know about an update, read without trusting its shape. */
export interface UpdateInfo {
  kind: string;
  /** The chat replies go to; null when the update names no usable one (such an update gets no run). */
  chatId: number | null;
  /** Who the conversation is with in that chat (a sender chat before the placeholder user); null without one. */
  userId: number | null;
}

export type { TelegramUpdate };

const MAX_UPDATE_ID = Number.MAX_SAFE_INTEGER;

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A Telegram id as timbre can use it: a non-zero integer (Telegram has no chat or user 0). */
export function usableId(value: unknown): number | null {
  return typeof value === "number" && Number.isSafeInteger(value) && value !== 0 ? value : null;
}

function idOf(value: unknown): number | null {
  return isObject(value) ? usableId(value.id) : null;
}

/** A JSON object with an integer update_id from 0 to 2^53-1; null otherwise. */
export function asUpdate(value: unknown): TelegramUpdate | null {
  if (!isObject(value)) return null;
  const id = value.update_id;
  if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > MAX_UPDATE_ID) return null;
  return value as TelegramUpdate;
}

/**
 * The update's type: its field named in the Bot API's list of update types, wherever it stands
 * among the others. Without one, the first field holding an object (a type newer than this
 * build), else "unknown".
 */
export function updateTypeOf(update: TelegramUpdate): string {
  let type = typeOfUpdate.get(update);
  if (type === undefined) {
    const keys = Object.keys(update).filter((key) => key !== "update_id");
    type = keys.find((key) => isUpdateType(key) && isObject(update[key])) ?? keys.find((key) => isObject(update[key])) ?? "unknown";
    typeOfUpdate.set(update, type);
  }
  return type;
}

/** Each update's type, read once: routing and replying ask for it many times (updates are not changed once stored). */
const typeOfUpdate = new WeakMap<TelegramUpdate, string>();

/** The object under the update's type field (the Message, the CallbackQuery...), if it is one. */
export function bodyOf(update: TelegramUpdate): Record<string, unknown> | undefined {
  const body = update[updateTypeOf(update)];
  return isObject(body) ? body : undefined;
}

/** The user who caused the update: `from`, else `user` (reactions, poll answers, business connections). */
function senderIdOf(body: Record<string, unknown>): number | null {
  return idOf(body.from) ?? idOf(body.user);
}

function chatIdOf(kind: string, body: Record<string, unknown>): number | null {
  const nested = isObject(body.message) ? body.message : undefined;
  // A type newer than this build: its chat if it names one, else its sender, as user-only types.
  const source = isUpdateType(kind) ? chatSourceOf(kind) : "chat" in body || "message" in body ? "unknown-chat" : "sender";
  switch (source) {
    case "chat":
      return idOf(body.chat);
    case "message.chat":
      return idOf(nested?.chat);
    case "unknown-chat":
      return idOf(body.chat) ?? idOf(nested?.chat);
    case "user_chat_id":
      return usableId(body.user_chat_id);
    case "sender":
      return senderIdOf(body);
    case "none":
      return null;
  }
}

/**
 * The update's type, its chat and its sender. The chat is only ever one the update names with
 * an integer id (a chat-bearing type with a broken chat does not fall back on its sender). A
 * message sent on behalf of a chat (a channel, an anonymous admin: `sender_chat`) is that
 * chat's, not the placeholder `from` user's.
 */
export function describeUpdate(update: TelegramUpdate): UpdateInfo {
  const kind = updateTypeOf(update);
  const body = bodyOf(update);
  if (!body) return { kind, chatId: null, userId: null };
  const userId = idOf(body.sender_chat) ?? senderIdOf(body) ?? idOf(body.actor_chat);
  return { kind, chatId: chatIdOf(kind, body), userId };
}

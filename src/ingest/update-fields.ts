import type { AgentUser, ReplyOptions } from "../runtime/context.ts";
import type { StoredUpdate } from "./inbox.ts";
import { bodyOf, isObject, updateTypeOf, usableId, type TelegramUpdate } from "./update-shape.ts";
import { chatSourceOf, isUpdateType, MESSAGE_UPDATE_TYPES } from "./update-types.ts";

/** Reading an update's fields as the runtime needs them: its text, its sender, its conversation, where replies go. */

/** The Message an update is about: its own (message, edited_message, business_message...) or a callback query's. */
function messageOf(update: TelegramUpdate): Record<string, unknown> | undefined {
  const kind = updateTypeOf(update);
  const body = bodyOf(update);
  if (!body) return undefined;
  if ((MESSAGE_UPDATE_TYPES as readonly string[]).includes(kind)) return body;
  if (kind === "callback_query") return isObject(body.message) ? body.message : undefined;
  return undefined;
}

/** Agents are started and answered by text messages only: the text of `update.message`. */
export function textOf(update: TelegramUpdate): string | undefined {
  const message = update.message;
  const text = isObject(message) ? message.text : undefined;
  return typeof text === "string" ? text : undefined;
}

/** Who sent the update (`from`, else `user`), as Telegram gave it; a placeholder user for messages sent on behalf of a chat. */
export function userOf(update: TelegramUpdate): AgentUser | undefined {
  const body = bodyOf(update);
  if (!body) return undefined;
  for (const candidate of [body.from, body.user]) {
    if (isObject(candidate) && usableId(candidate.id) !== null) return candidate as unknown as AgentUser;
  }
  return undefined;
}

/** The forum topic the update came from (messages, edits and callback queries alike). */
export function threadOf(update: TelegramUpdate): number | undefined {
  const message = messageOf(update);
  if (message?.is_topic_message === true) return usableId(message.message_thread_id) ?? undefined;
  // A stopped message generation names its thread without the topic flag.
  const body = bodyOf(update);
  if (updateTypeOf(update) === "stopped_message_generation" && body) return usableId(body.message_thread_id) ?? undefined;
  return undefined;
}

/** The channel direct-messages topic the update came from (`chat.is_direct_messages`). */
export function directMessagesTopicOf(update: TelegramUpdate): number | undefined {
  const topic = messageOf(update)?.direct_messages_topic;
  return isObject(topic) ? (usableId(topic.topic_id) ?? undefined) : undefined;
}

/** The business connection the update came through. */
export function businessConnectionOf(update: TelegramUpdate): string | undefined {
  const id = messageOf(update)?.business_connection_id ?? bodyOf(update)?.business_connection_id;
  return typeof id === "string" && id !== "" ? id : undefined;
}

/**
 * sendMessage options that make a reply go where the update came from: the same forum topic,
 * the same channel direct-messages topic (sendMessage requires it there), the same business
 * connection.
 */
export function replyTargetOf(update: TelegramUpdate): ReplyOptions {
  const thread = threadOf(update);
  const directTopic = directMessagesTopicOf(update);
  const business = businessConnectionOf(update);
  return {
    ...(thread !== undefined ? { message_thread_id: thread } : {}),
    ...(directTopic !== undefined ? { direct_messages_topic_id: directTopic } : {}),
    ...(business !== undefined ? { business_connection_id: business } : {}),
  };
}

/**
 * What a question asked in a group or supergroup adds, so that the asking user's typed answer
 * reaches the bot: with privacy mode on (Telegram's default for bots) a bot receives no plain
 * messages in groups, only commands and replies to its own messages. The question replies to the
 * message that started the run and asks for a reply (a selective force_reply: only its sender's
 * app opens the reply field), so the answer comes as a reply. Undefined elsewhere, and when the
 * run did not start from a message.
 */
export function answerPromptOf(update: TelegramUpdate): ReplyOptions | undefined {
  const message = update.message;
  if (!isObject(message) || !isObject(message.chat) || (message.chat.type !== "group" && message.chat.type !== "supergroup")) return undefined;
  const messageId = usableId(message.message_id);
  if (messageId === null) return undefined;
  return { reply_parameters: { message_id: messageId, allow_sending_without_reply: true }, reply_markup: { force_reply: true, selective: true } };
}

/** sendChatAction options for "typing" where the update came from (it takes no direct-messages topic); undefined in a chat that cannot show it. */
export function chatActionTargetOf(update: TelegramUpdate): ReplyOptions | undefined {
  // sendChatAction: "Channel chats and channel direct messages chats aren't supported." The chat
  // is the message's, or the update's own (my_chat_member, message_reaction, chat_boost...);
  // a join request's run talks to the applicant in private, whatever chat they asked to join.
  const type = updateTypeOf(update);
  const source = isUpdateType(type) ? chatSourceOf(type) : undefined;
  const privately = source === "user_chat_id" || source === "sender";
  const chat = privately ? undefined : (messageOf(update)?.chat ?? bodyOf(update)?.chat);
  if (isObject(chat) && (chat.type === "channel" || chat.is_direct_messages === true)) return undefined;
  const thread = threadOf(update);
  const business = businessConnectionOf(update);
  return { ...(thread !== undefined ? { message_thread_id: thread } : {}), ...(business !== undefined ? { business_connection_id: business } : {}) };
}

/**
 * One user in one chat; in a private chat (user id = chat id) simply the chat. A sender chat (a
 * channel, the group's anonymous admins) stands in for the user, and each forum topic, each
 * direct-messages topic and each business connection is a conversation of its own: "chat",
 * "chat:user", "chat/t40:user", "chat/d12:user", "chat/bConnId" (a business chat has the
 * customer's id, as the customer's private chat with the bot does, yet is another chat).
 */
export function conversationOf(update: StoredUpdate): string {
  const chat = update.chatId ?? 0;
  const thread = threadOf(update.update);
  const directTopic = directMessagesTopicOf(update.update);
  const business = businessConnectionOf(update.update);
  const place =
    thread !== undefined ? `${chat}/t${thread}` : directTopic !== undefined ? `${chat}/d${directTopic}` : business !== undefined ? `${chat}/b${business}` : `${chat}`;
  return update.userId === null || update.userId === chat ? place : `${place}:${update.userId}`;
}

export function isCancel(text: string): boolean {
  return /^\/cancel(@\w+)?$/i.test(text.trim());
}

/** The username a command is addressed to (`/start@some_bot` gives "some_bot"); undefined for other texts. */
export function commandAddresseeOf(text: string): string | undefined {
  return /^\/\w+@(\w+)/.exec(text.trim())?.[1];
}

/**
 * A command addressed to a bot other than `botUsername` (case-insensitive, as Telegram treats
 * usernames). While the username is unknown nothing counts as another bot's: with privacy mode
 * on (Telegram's default) a bot only receives the commands addressed to itself.
 */
export function isCommandForAnotherBot(text: string, botUsername: string | undefined): boolean {
  const addressee = commandAddresseeOf(text);
  return addressee !== undefined && botUsername !== undefined && addressee.toLowerCase() !== botUsername.toLowerCase();
}

/** The text (or caption) of the update's own message, for the checks that apply to every message. */
function messageTextOf(update: TelegramUpdate): string | undefined {
  const kind = updateTypeOf(update);
  if (!(MESSAGE_UPDATE_TYPES as readonly string[]).includes(kind)) return undefined;
  const body = bodyOf(update);
  const text = body?.text ?? body?.caption;
  return typeof text === "string" ? text : undefined;
}

/** A channel post Telegram forwarded into the channel's discussion group by itself. */
export function isAutomaticForward(update: TelegramUpdate): boolean {
  const kind = updateTypeOf(update);
  return (MESSAGE_UPDATE_TYPES as readonly string[]).includes(kind) && bodyOf(update)?.is_automatic_forward === true;
}

/** The callback query's id, for answerCallbackQuery; undefined for other updates. */
export function callbackQueryIdOf(update: TelegramUpdate): string | undefined {
  if (updateTypeOf(update) !== "callback_query") return undefined;
  const id = bodyOf(update)?.id;
  return typeof id === "string" && id !== "" ? id : undefined;
}

/**
 * Why an update starts nothing, answers nothing and cancels nothing (it is marked done as it is):
 * - `no_chat`: it names no usable chat (nor, for user-only updates, user) to answer in;
 * - `command_for_another_bot`: `/start@other_bot` is not timbre's;
 * - `automatic_forward`: a channel post Telegram copied into its discussion group;
 * - `guest_message`: answered through answerGuestQuery, which timbre does not call.
 * Undefined when the update is routed as usual.
 */
export type NoRunReason = "no_chat" | "command_for_another_bot" | "automatic_forward" | "guest_message";

export function noRunReasonOf(update: StoredUpdate, botUsername: string | undefined): NoRunReason | undefined {
  if (update.chatId === null) return "no_chat";
  if (update.kind === "guest_message") return "guest_message";
  if (isAutomaticForward(update.update)) return "automatic_forward";
  const text = messageTextOf(update.update);
  if (text !== undefined && isCommandForAnotherBot(text, botUsername)) return "command_for_another_bot";
  return undefined;
}

/** Whether routing this update depends on timbre's username (a command addressed to some bot). */
export function needsBotUsername(update: TelegramUpdate): boolean {
  const text = messageTextOf(update);
  return text !== undefined && commandAddresseeOf(text) !== undefined;
}

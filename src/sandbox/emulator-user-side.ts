import type { BotMessage, EmulatedChat, EmulatedUser, InlineButton, MessagePlace } from "./emulator-types.ts";

/** Telegram's placeholder `from` for messages a channel sends into a group. */
export const CHANNEL_BOT: EmulatedUser = { id: 136_817_688, is_bot: true, first_name: "Channel", username: "Channel_Bot" };
/** Telegram's placeholder `from` for a group's anonymous admins. */
export const GROUP_ANONYMOUS_BOT: EmulatedUser = { id: 1_087_968_824, is_bot: true, first_name: "Group", username: "GroupAnonymousBot" };
/** The `from` of channel posts Telegram forwards into a discussion group by itself. */
export const TELEGRAM_SERVICE_USER: EmulatedUser = { id: 777_000, is_bot: false, first_name: "Telegram" };

/** The `from` Telegram puts on a message: the user, or the placeholder when a chat sends it. */
function senderOf(from: EmulatedUser, chat: EmulatedChat, place: MessagePlace): EmulatedUser {
  if (place.automaticForward) return TELEGRAM_SERVICE_USER;
  if (!place.senderChat) return { is_bot: false, ...from };
  return place.senderChat.id === chat.id ? GROUP_ANONYMOUS_BOT : CHANNEL_BOT;
}

/** A user's text message as Telegram sends it, in `chat` and `place`; its update type is message or business_message. */
export function userMessage(
  from: EmulatedUser,
  text: string,
  chat: EmulatedChat,
  ids: { messageId: number; date: number },
  place: MessagePlace = {},
): { type: "message" | "business_message"; message: Record<string, unknown> } {
  const message: Record<string, unknown> = { message_id: ids.messageId };
  if (place.topicId !== undefined) Object.assign(message, { message_thread_id: place.topicId, is_topic_message: true });
  if (place.directMessagesTopicId !== undefined) message.direct_messages_topic = { topic_id: place.directMessagesTopicId, user: { is_bot: false, ...from } };
  message.from = senderOf(from, chat, place);
  if (place.senderChat) message.sender_chat = place.senderChat;
  message.chat = chat;
  message.date = ids.date;
  if (place.businessConnectionId !== undefined) message.business_connection_id = place.businessConnectionId;
  if (place.automaticForward && place.senderChat) {
    Object.assign(message, { forward_origin: { type: "channel", chat: place.senderChat, message_id: ids.messageId, date: ids.date }, is_automatic_forward: true });
  }
  message.text = text;
  if (text.startsWith("/")) message.entities = [{ type: "bot_command", offset: 0, length: text.split(/\s/)[0]!.length }];
  return { type: place.businessConnectionId !== undefined ? "business_message" : "message", message };
}

/** The inline button of `message` whose text or callback_data is `label`. */
export function buttonOf(message: BotMessage, label: string): InlineButton {
  const buttons = (message.reply_markup?.inline_keyboard.flat() ?? []).filter((b) => b.callback_data !== undefined);
  // By its data first (what the page sends): a button's data may be another button's text.
  const button = buttons.find((b) => b.callback_data === label) ?? buttons.find((b) => b.text === label);
  if (!button) {
    throw new Error(`message ${message.message_id} in chat ${message.chat_id} has no callback button "${label}" (its buttons: ${JSON.stringify(buttons.map((b) => b.text))})`);
  }
  return button;
}

/**
 * The Message object a callback query carries: the bot's message as Telegram shows it, with its
 * chat, its forum topic, its business connection and its current keyboard.
 */
export function botMessageObject(message: BotMessage, chat: EmulatedChat, bot: EmulatedUser): Record<string, unknown> {
  const { params } = message;
  const object: Record<string, unknown> = { message_id: message.message_id };
  if (typeof params.message_thread_id === "number") Object.assign(object, { message_thread_id: params.message_thread_id, is_topic_message: true });
  if (typeof params.direct_messages_topic_id === "number") object.direct_messages_topic = { topic_id: params.direct_messages_topic_id };
  // The bot as a message's sender: without the fields Telegram returns only in getMe.
  const { can_join_groups: _j, can_read_all_group_messages: _r, supports_inline_queries: _i, ...sender } = bot as EmulatedUser & Record<string, unknown>;
  object.from = sender;
  object.chat = chat;
  object.date = message.date;
  if (typeof params.business_connection_id === "string") object.business_connection_id = params.business_connection_id;
  object.text = message.text;
  if (message.entities) object.entities = message.entities;
  if (message.reply_markup) object.reply_markup = message.reply_markup;
  return object;
}

import type { MessageEntity } from "./html-entities.ts";
/** The shapes the Bot API emulator records and takes, as tests and the sandbox page read them. */

export interface EmulatedUser {
  id: number;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
  is_bot?: boolean;
}

/** A chat as Telegram describes it in a Message (private, group, supergroup, channel). */
export interface EmulatedChat {
  id: number;
  type: string;
  title?: string;
  first_name?: string;
  username?: string;
  is_forum?: boolean;
  /** A channel's direct-messages chat. */
  is_direct_messages?: boolean;
}

export interface RecordedCall {
  method: string;
  params: Record<string, unknown>;
  at: number;
  /** The HTTP status the emulator answered with. */
  status: number;
}

/** A message the bot sent, as the emulator keeps it. */
export interface BotMessage {
  chat_id: number;
  message_id: number;
  text: string;
  date: number;
  /** The sendMessage parameters as the bot sent them. */
  params: Record<string, unknown>;
  /** The message's inline keyboard now (editMessageReplyMarkup changes it); undefined without one. */
  reply_markup?: InlineKeyboard;
  /** What parse_mode HTML made of the text's tags (the text is then without them). */
  entities?: MessageEntity[];
}

export interface InlineButton {
  text: string;
  callback_data?: string;
  url?: string;
}

export interface InlineKeyboard {
  inline_keyboard: InlineButton[][];
}

/** An HTTP answer that is not the Bot API's (a proxy, a load balancer in front of it). */
export interface RawAnswer {
  status: number;
  body: string;
  contentType?: string;
}

export interface Faults {
  /** Share of matching calls answered 429 with `retry_after`. */
  rate429: number;
  retryAfter: number;
  /** Share of matching calls answered 502. */
  rate5xx: number;
  /** Every matching call answers 502 (Telegram down). */
  down: boolean;
  /** Added before every answer. */
  delayMs: number;
  /** Chats whose sends answer 403 "bot was blocked by the user". */
  blockedChats: Set<number>;
  /** Groups that became supergroups (old id → new id): calls to the old id answer 400 with migrate_to_chat_id. */
  migratedChats: Map<number, number>;
  /** The next matching calls get these answers, one each, instead of the Bot API's (then normal answers resume). */
  rawAnswers: RawAnswer[];
  /** Methods the random faults and raw answers apply to; empty = all. */
  methods: string[];
}

/** A text a user wrote (sendText); shares the chat's message_id sequence with the bot's messages. */
export interface UserMessage {
  chat_id: number;
  message_id: number;
  text: string;
  date: number;
  from: EmulatedUser;
}

/** Where a user's message is written, beyond its chat. */
export interface MessagePlace {
  /** A forum topic: the message carries message_thread_id and is_topic_message. */
  topicId?: number;
  /**
   * Sent on behalf of a chat: a channel, or the group itself for an anonymous admin. `from`
   * becomes Telegram's placeholder (Channel_Bot, GroupAnonymousBot), as Telegram sends it.
   */
  senderChat?: EmulatedChat;
  /** A channel's direct-messages chat: the topic of this user's thread (direct_messages_topic). */
  directMessagesTopicId?: number;
  /** Written in a connected business account's chat: a business_message update with this connection. */
  businessConnectionId?: string;
  /** A channel post Telegram copied into the channel's discussion group (`senderChat` is the channel). */
  automaticForward?: boolean;
}

export type EmulatorEvent =
  | { type: "user_message"; chat_id: number; message: Record<string, unknown> }
  | { type: "bot_message"; chat_id: number; message: BotMessage }
  /** editMessageText or editMessageReplyMarkup changed a bot message (`message` is it now). */
  | { type: "bot_message_edited"; chat_id: number; message: BotMessage }
  | { type: "chat_action"; chat_id: number; action: string }
  /** The bot answered a button tap with a notice (answerCallbackQuery's text). */
  | { type: "callback_answer"; chat_id: number; text: string }
  | { type: "user_added"; user: EmulatedUser }
  | { type: "user_removed"; user_id: number };

export type Params = Record<string, unknown>;
export type Update = { update_id: number } & Record<string, unknown>;

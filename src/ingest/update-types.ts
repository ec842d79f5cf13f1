import type { TelegramUpdate } from "@gramio/types";

/**
 * The Bot API's update types, and for each where its chat is. The table is typed against
 * @gramio/types' Update object, so a type added or removed there fails `tsc` until it is
 * listed here. ALLOWED_UPDATES, PUT /admin/webhook, the inbox and the router all read this one list.
 */

export type UpdateType = Exclude<keyof TelegramUpdate, "update_id">;

/**
 * Where an update type names the chat a reply goes to:
 * - `chat`: its object's `chat.id` (messages, member updates, reactions, boosts...);
 * - `message.chat`: the `chat.id` of its `message` (callback queries; none for inline messages);
 * - `user_chat_id`: the private chat with the user it is about (join requests, business connections);
 * - `sender`: the user who caused it (`from`, else `user`), whose private chat has the same id;
 * - `none`: no chat at all (poll states).
 */
export type ChatSource = "chat" | "message.chat" | "user_chat_id" | "sender" | "none";

const CHAT_SOURCE: Record<UpdateType, ChatSource> = {
  message: "chat",
  edited_message: "chat",
  channel_post: "chat",
  edited_channel_post: "chat",
  business_connection: "user_chat_id",
  business_message: "chat",
  edited_business_message: "chat",
  deleted_business_messages: "chat",
  guest_message: "chat",
  message_reaction: "chat",
  message_reaction_count: "chat",
  inline_query: "sender",
  chosen_inline_result: "sender",
  callback_query: "message.chat",
  shipping_query: "sender",
  pre_checkout_query: "sender",
  purchased_paid_media: "sender",
  poll: "none",
  poll_answer: "sender",
  my_chat_member: "chat",
  chat_member: "chat",
  // The applicant is not in the group yet: the bot talks to them in private (Telegram allows it for 5 minutes).
  chat_join_request: "user_chat_id",
  chat_boost: "chat",
  removed_chat_boost: "chat",
  managed_bot: "sender",
  subscription: "sender",
  stopped_message_generation: "chat",
};

/** Every current update type, in the Bot API's order. */
export const UPDATE_TYPES = Object.keys(CHAT_SOURCE) as readonly UpdateType[];

/** Update types whose object is a Message. */
export const MESSAGE_UPDATE_TYPES: readonly UpdateType[] = [
  "message",
  "edited_message",
  "channel_post",
  "edited_channel_post",
  "business_message",
  "edited_business_message",
  "guest_message",
];

const KNOWN = new Set<string>(UPDATE_TYPES);

export function isUpdateType(name: string): name is UpdateType {
  return KNOWN.has(name);
}

export function chatSourceOf(type: UpdateType): ChatSource {
  return CHAT_SOURCE[type];
}

/** The first name in `names` that is not an update type, or undefined when all are. */
export function unknownUpdateType(names: readonly string[]): string | undefined {
  return names.find((name) => !isUpdateType(name));
}

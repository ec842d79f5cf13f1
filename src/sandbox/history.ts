import type { BotApiEmulator, BotMessage, EmulatedUser, InlineButton, UserMessage } from "./emulator.ts";

/** One line of a chat as the page shows it. */
export interface ChatLine {
  message_id: number;
  side: "user" | "bot";
  text: string;
  date: number;
  /** A bot message's inline keyboard as it is now (rows of buttons); absent without one. */
  buttons?: InlineButton[][];
}

export interface ChatHistory {
  chat_id: number;
  /** The user of this private chat (the latest name and language they used). */
  user: EmulatedUser | null;
  messages: ChatLine[];
  /** The question the bot is waiting on, or null. */
  waiting: string | null;
}

/** A user as the page keeps them: id, name, language. */
export function pageUser(user: EmulatedUser): EmulatedUser {
  return { id: user.id, first_name: user.first_name, ...(user.language_code ? { language_code: user.language_code } : {}) };
}

export function botLine(message: BotMessage): ChatLine {
  const { message_id, text, date } = message;
  const buttons = message.reply_markup?.inline_keyboard.filter((row) => row.length > 0);
  return { message_id, side: "bot", text, date, ...(buttons?.length ? { buttons } : {}) };
}

export function userLine(message: Pick<UserMessage, "message_id" | "text" | "date">): ChatLine {
  return { message_id: message.message_id, side: "user", text: message.text, date: message.date };
}

/** Every chat the emulator knows (each user's, even before they write), oldest message first, with its waiting state. */
export function sandboxHistory(emulator: BotApiEmulator, waiting: Map<number, string>): ChatHistory[] {
  const chats = new Map<number, ChatHistory>();
  const chat = (id: number) => {
    let entry = chats.get(id);
    if (!entry) chats.set(id, (entry = { chat_id: id, user: null, messages: [], waiting: waiting.get(id) ?? null }));
    return entry;
  };
  for (const user of emulator.users.values()) chat(user.id).user = pageUser(user);
  for (const m of emulator.userMessages) {
    const entry = chat(m.chat_id);
    entry.user ??= pageUser(m.from);
    entry.messages.push(userLine(m));
  }
  for (const m of emulator.messages) chat(m.chat_id).messages.push(botLine(m));
  // User and bot messages share each chat's message_id sequence, so it orders them.
  for (const entry of chats.values()) entry.messages.sort((a, b) => a.message_id - b.message_id);
  return [...chats.values()];
}

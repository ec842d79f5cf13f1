import type { BotMessage, EmulatedChat, EmulatedUser, Update, UserMessage } from "./emulator-types.ts";

/** What an emulator with a store starts from: everything it kept before a restart. */
export interface EmulatorSnapshot {
  /** The highest update id given out before (0 for none): new ids continue above it. */
  lastUpdateId: number;
  /** Updates queued and not yet taken by the bot (webhook 2xx, getUpdates offset), in update_id order. */
  pending: Update[];
  chats: EmulatedChat[];
  /** The users of private chats (a private chat's id is its user's id). */
  users: EmulatedUser[];
  userMessages: UserMessage[];
  botMessages: BotMessage[];
  /** Users removed: the bot's messages to them answer 403, as for a deleted account. */
  removedUsers: number[];
}

/**
 * Where an emulator keeps its Telegram side so it survives a restart, as Telegram's does: the
 * sandbox gives one backed by timbre's database (store.ts); an emulator without one (tests)
 * keeps everything in memory. Each call is a synchronous write, done before the emulator answers.
 */
export interface EmulatorStore {
  /** Read once, when the emulator is built. */
  load(): EmulatorSnapshot;
  /** An update is queued for the bot. */
  queued(update: Update): void;
  /** The bot has these updates (delivered, confirmed by an offset, or dropped): they stay only as the id high-water mark. */
  taken(updateIds: number[]): void;
  /** A chat as the latest update described it. */
  chat(chat: EmulatedChat): void;
  /** A private chat's user, as they last wrote or were created. */
  user(user: EmulatedUser): void;
  userMessage(message: UserMessage): void;
  /** A bot message, when sent and after each edit (text, keyboard). */
  botMessage(message: BotMessage): void;
  /** Forgets a user, their private chat and its messages; the id stays removed. */
  removeUser(userId: number): void;
}

/**
 * An in-process fake of the Telegram Bot API: the subset timbre uses, with Telegram's JSON
 * shapes and error format. Tests use it as Telegram; sandbox mode mounts it on the service's
 * own server. It records every call, delivers updates to a webhook (secret header, per-chat
 * order, retries with backoff on non-2xx like Telegram) or hands them to getUpdates, lets users
 * write in private chats, groups, forum topics, channels' direct-messages chats and business
 * chats and tap inline buttons, and can inject 429s, 5xx (Telegram's or a proxy's), 403s,
 * migrated groups and delays. Given a store, it survives restarts as Telegram does: its chats,
 * users, messages and undelivered updates are kept, and update ids continue above the last.
 */
import { BotApiMethods } from "./emulator-methods.ts";
import { seededRandom } from "./emulator-http.ts";
import { botMessageObject, buttonOf, userMessage } from "./emulator-user-side.ts";
import type { EmulatorStore } from "./emulator-store.ts";
import type { BotMessage, EmulatedChat, EmulatedUser, EmulatorEvent, MessagePlace, RecordedCall, Update } from "./emulator-types.ts";

export { seededRandom } from "./emulator-http.ts";
export type { EmulatorSnapshot, EmulatorStore } from "./emulator-store.ts";
export { CHANNEL_BOT, GROUP_ANONYMOUS_BOT, TELEGRAM_SERVICE_USER } from "./emulator-user-side.ts";
export type {
  BotMessage,
  EmulatedChat,
  EmulatedUser,
  EmulatorEvent,
  Faults,
  InlineButton,
  InlineKeyboard,
  MessagePlace,
  RawAnswer,
  RecordedCall,
  UserMessage,
} from "./emulator-types.ts";

export interface EmulatorOptions {
  token?: string;
  /** Seed of the fault injection's random rolls. */
  seed?: number;
  /** The bot's username in getMe (default timbre_sandbox_bot). */
  username?: string;
  /** The first update id it gives out (default 100000); with a store, never at or below one it gave before. */
  firstUpdateId?: number;
  /** Keeps chats, users, messages and undelivered updates across restarts (default: memory only). */
  store?: EmulatorStore;
}

/** The Bot API emulator: the bot's side (HTTP methods, in BotApiMethods) and the users' side (below). */
export class BotApiEmulator extends BotApiMethods {
  private nextUpdateId: number;

  constructor(options: EmulatorOptions = {}) {
    super(options.token ?? "123456:SANDBOX-emulated-token", seededRandom(options.seed ?? 42), options.username ?? "timbre_sandbox_bot", options.store);
    this.nextUpdateId = Math.max(options.firstUpdateId ?? 100_000, this.lastStoredUpdateId + 1);
  }

  /** The update id the next update gets. */
  get upcomingUpdateId(): number {
    return this.nextUpdateId;
  }

  seed(seed: number): void {
    this.random = seededRandom(seed);
  }

  /** Queues an update as Telegram would (webhook delivery or getUpdates); assigns update_id when missing. */
  pushUpdate(update: Omit<Update, "update_id"> & { update_id?: number }): Update {
    const full = { update_id: update.update_id ?? this.nextUpdateId++, ...update } as Update;
    if (full.update_id >= this.nextUpdateId) this.nextUpdateId = full.update_id + 1;
    // Kept before the bot can see it: an update given out is never lost or given out again.
    this.store?.queued(full);
    this.rememberChatsOf(full);
    this.queue.push(full);
    this.queue.sort((a, b) => a.update_id - b.update_id);
    this.wakePollers();
    this.delivery.schedule(0);
    return full;
  }

  /**
   * A user writes a text message in a private chat with the bot (or in `chat` when given), in
   * `place`: a forum topic, on behalf of a chat (a channel, an anonymous admin), a channel's
   * direct-messages topic, a business connection, or as an automatic forward.
   */
  sendText(from: EmulatedUser, text: string, chat?: EmulatedChat, place: MessagePlace = {}): Update {
    const chatInfo: EmulatedChat = chat ?? { id: from.id, type: "private", first_name: from.first_name };
    const { type, message } = userMessage(from, text, chatInfo, { messageId: this.nextMessageId(chatInfo.id), date: Math.floor(Date.now() / 1000) }, place);
    if (chatInfo.type === "private") this.rememberUser(from);
    const written = { chat_id: chatInfo.id, message_id: message.message_id as number, text, date: message.date as number, from };
    this.store?.userMessage(written);
    this.userMessages.push(written);
    this.emit({ type: "user_message", chat_id: chatInfo.id, message });
    return this.pushUpdate({ [type]: message });
  }

  /**
   * A user taps an inline button (by its text or callback_data) of a message the bot sent: a
   * callback_query with that message (its chat, topic and business connection), `from` the
   * tapping user and the button's data, as Telegram sends it.
   */
  tapButton(from: EmulatedUser, message: BotMessage, label: string): Update {
    const button = buttonOf(message, label);
    // Unique across restarts, as update ids are.
    const updateId = this.nextUpdateId++;
    const id = `${updateId}${String(message.chat_id).replace("-", "9")}`;
    this.callbackQueries.set(id, { answered: false });
    return this.pushUpdate({
      update_id: updateId,
      callback_query: {
        id,
        from: { is_bot: false, ...from },
        message: botMessageObject(message, this.chatOf(message.chat_id), this.botInfo),
        chat_instance: `${-Math.abs(message.chat_id) * 7}`,
        data: button.callback_data,
      },
    });
  }

  /** A user of a private chat with the bot who has not written yet (the sandbox page creates them). */
  addUser(user: EmulatedUser): void {
    this.rememberUser(user);
    this.emit({ type: "user_added", user });
  }

  /**
   * Removes a user as when they delete their account: their private chat and its messages are
   * forgotten, and the bot's messages to them answer 403 "user is deactivated". Writing again
   * (sendText, addUser) brings them back. False when the emulator does not know them.
   */
  removeUser(userId: number): boolean {
    const known = this.users.has(userId) || this.userMessages.some((m) => m.chat_id === userId) || this.messages.some((m) => m.chat_id === userId);
    if (!known) return false;
    this.forgetUser(userId);
    this.emit({ type: "user_removed", user_id: userId });
    return true;
  }

  /** Messages the bot sent to one chat, in order. */
  sentTo(chatId: number): BotMessage[] {
    return this.messages.filter((m) => m.chat_id === chatId);
  }

  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  pendingUpdates(): number {
    return this.queue.length;
  }

  subscribe(listener: (event: EmulatorEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

import { ApiError, requireChat } from "./emulator-http.ts";
import type { EmulatorStore } from "./emulator-store.ts";
import type { BotMessage, EmulatedChat, EmulatedUser, EmulatorEvent, Params, Update, UserMessage } from "./emulator-types.ts";

const USER_DEACTIVATED = "Forbidden: user is deactivated";

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * What the emulator knows as Telegram: chats, users, messages both ways, callback queries and
 * the update queue. With a store, each change is written as it happens and everything is read
 * back on start (all but the webhook, which the bot sets again on start, and the calls record).
 */
export class EmulatorState {
  readonly messages: BotMessage[] = [];
  /** Texts users wrote through sendText, in order (the sandbox page's history). */
  readonly userMessages: UserMessage[] = [];
  /** Callback queries users made, by id, and whether (and how) the bot answered them. */
  readonly callbackQueries = new Map<string, { answered: boolean; text?: string }>();
  /** The users of private chats: who wrote there, or was added (the sandbox page's users). */
  readonly users = new Map<number, EmulatedUser>();
  /** Users removed (removeUser): the bot's messages to them answer 403. */
  readonly removedUsers = new Set<number>();

  /** Updates not yet confirmed (getUpdates) or delivered (webhook), in update_id order. */
  protected queue: Update[] = [];
  protected readonly listeners = new Set<(event: EmulatorEvent) => void>();
  /** The highest update id the store had given out before this start (0 without a store). */
  protected readonly lastStoredUpdateId: number;
  private readonly messageIds = new Map<number, number>();
  /** Chats as users' updates described them, so the bot's messages carry the same chat. */
  private readonly chats = new Map<number, EmulatedChat>();
  /** The chat each callback query was made in (to show the bot's answer there). */
  protected readonly callbackQueryChats = new Map<string, number>();

  constructor(protected readonly store?: EmulatorStore) {
    this.lastStoredUpdateId = this.restore();
  }

  /** Reads back what the store kept (chats, users, messages both ways, the queue); returns the last update id it gave. */
  private restore(): number {
    if (!this.store) return 0;
    const kept = this.store.load();
    for (const chat of kept.chats) this.chats.set(chat.id, chat);
    for (const user of kept.users) this.users.set(user.id, user);
    for (const id of kept.removedUsers) this.removedUsers.add(id);
    this.userMessages.push(...kept.userMessages);
    this.messages.push(...kept.botMessages);
    for (const m of [...kept.userMessages, ...kept.botMessages]) this.messageIds.set(m.chat_id, Math.max(this.messageIds.get(m.chat_id) ?? 0, m.message_id));
    this.queue = [...kept.pending].sort((a, b) => a.update_id - b.update_id);
    for (const update of this.queue) this.rememberQueryOf(update);
    return Math.max(kept.lastUpdateId, ...this.queue.map((u) => u.update_id));
  }

  /** Takes the updates the bot now has off the queue (and out of the store's pending ones). */
  protected take(taken: (update: Update) => boolean): void {
    const ids = this.queue.filter(taken).map((u) => u.update_id);
    if (ids.length === 0) return;
    this.queue = this.queue.filter((u) => !taken(u));
    this.store?.taken(ids);
  }

  protected nextMessageId(chatId: number): number {
    const id = (this.messageIds.get(chatId) ?? 0) + 1;
    this.messageIds.set(chatId, id);
    return id;
  }

  /** The chat as users' updates described it, else as its id implies. */
  protected chatOf(chatId: number): EmulatedChat {
    return this.chats.get(chatId) ?? { id: chatId, type: chatId > 0 ? "private" : "supergroup" };
  }

  /** Keeps the chats an update describes, and the callback query it makes (answerable once). */
  protected rememberChatsOf(update: Update): void {
    for (const body of Object.values(update)) {
      if (!isObject(body)) continue;
      for (const chat of [body.chat, isObject(body.message) ? body.message.chat : undefined]) {
        if (!isObject(chat) || typeof chat.id !== "number" || typeof chat.type !== "string") continue;
        const known = this.chats.get(chat.id);
        this.chats.set(chat.id, chat as unknown as EmulatedChat);
        if (JSON.stringify(known) !== JSON.stringify(chat)) this.store?.chat(chat as unknown as EmulatedChat);
      }
    }
    this.rememberQueryOf(update);
  }

  private rememberQueryOf(update: Update): void {
    const query = update.callback_query;
    if (!isObject(query) || typeof query.id !== "string") return;
    if (!this.callbackQueries.has(query.id)) this.callbackQueries.set(query.id, { answered: false });
    const chat = isObject(query.message) && isObject(query.message.chat) ? query.message.chat.id : undefined;
    if (typeof chat === "number") this.callbackQueryChats.set(query.id, chat);
  }

  /** The user of a private chat, kept (and stored) as they last described themselves; a removed user comes back. */
  protected rememberUser(user: EmulatedUser): void {
    const known = this.users.get(user.id);
    this.removedUsers.delete(user.id);
    this.users.set(user.id, user);
    if (!this.chats.has(user.id)) this.chats.set(user.id, { id: user.id, type: "private", first_name: user.first_name });
    if (JSON.stringify(known) !== JSON.stringify(user)) this.store?.user(user);
  }

  /** The chat a method names, refused with 403 when it is a removed user's (as for a deleted account). */
  protected reachableChat(params: Params): number {
    // "@channelusername": a chat the emulator knows by that username, else none.
    const username = typeof params.chat_id === "string" && params.chat_id.startsWith("@") ? params.chat_id.slice(1).toLowerCase() : undefined;
    const chatId = username !== undefined ? this.chatNamed(username) : requireChat(params);
    if (this.removedUsers.has(chatId)) throw new ApiError(403, USER_DEACTIVATED);
    return chatId;
  }

  private chatNamed(username: string): number {
    for (const chat of this.chats.values()) if (chat.username?.toLowerCase() === username) return chat.id;
    throw new ApiError(400, "Bad Request: chat not found");
  }

  /** Forgets a user's private chat and its messages; the bot's messages to them answer 403 from now on. */
  protected forgetUser(userId: number): void {
    this.users.delete(userId);
    this.removedUsers.add(userId);
    this.chats.delete(userId);
    this.messageIds.delete(userId);
    const keep = <T extends { chat_id: number }>(list: T[]) => list.splice(0, list.length, ...list.filter((m) => m.chat_id !== userId));
    keep(this.userMessages);
    keep(this.messages);
    this.store?.removeUser(userId);
  }

  protected emit(event: EmulatorEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

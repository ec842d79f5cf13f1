import { and, asc, eq, inArray, isNotNull, isNull, lt, max, sql } from "drizzle-orm";
import type { Clock } from "../clock.ts";
import type { Db } from "../db/index.ts";
import { sandboxChats, sandboxMessages, sandboxUpdates, settings, updates } from "../db/schema.ts";
import { POLL_OFFSET_KEY } from "../ingest/poller.ts";
import type { EmulatorSnapshot, EmulatorStore } from "./emulator-store.ts";
import type { BotMessage, EmulatedChat, EmulatedUser, InlineKeyboard, Update, UserMessage } from "./emulator-types.ts";

/**
 * The sandbox emulator's store in timbre's own database (the sandbox_* tables, written only
 * here): chats and their users, every message both ways, and the updates it gave out. Each
 * write is its own commit, made before the emulator answers, so a `kill -9` loses nothing the
 * page has shown.
 */
export class SandboxStore implements EmulatorStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  load(): EmulatorSnapshot {
    const { db } = this;
    const highest = (rows: { id: number | null } | undefined) => rows?.id ?? 0;
    const lastGiven = highest(db.select({ id: max(sandboxUpdates.updateId) }).from(sandboxUpdates).get());
    // The bot's own record too: ids it stored before this store existed (or from another emulator) are never reused.
    const lastStored = highest(db.select({ id: max(updates.updateId) }).from(updates).get());
    // A bot that polled on this database asks for updates from its stored offset on: ids below it
    // would never reach it, and its old rows may be pruned already.
    const offset = Number(db.select({ value: settings.value }).from(settings).where(eq(settings.key, POLL_OFFSET_KEY)).get()?.value);
    const lastPolled = Number.isSafeInteger(offset) ? offset - 1 : 0;
    // Updates the bot has are kept only as the high-water mark: the highest row is enough.
    db.delete(sandboxUpdates).where(and(isNull(sandboxUpdates.payload), lt(sandboxUpdates.updateId, lastGiven))).run();

    const pending = db.select({ payload: sandboxUpdates.payload }).from(sandboxUpdates).where(isNotNull(sandboxUpdates.payload)).orderBy(asc(sandboxUpdates.updateId)).all();
    const chats = db.select().from(sandboxChats).all();
    const messages = db.select().from(sandboxMessages).orderBy(sql`rowid`).all();
    const userMessages: UserMessage[] = [];
    const botMessages: BotMessage[] = [];
    for (const m of messages) {
      const line = { chat_id: m.chatId, message_id: m.messageId, text: m.text, date: m.date };
      if (m.side === "user") userMessages.push({ ...line, from: JSON.parse(m.sender ?? "{}") as EmulatedUser });
      else {
        const params = JSON.parse(m.params ?? "{}") as Record<string, unknown>;
        botMessages.push({ ...line, params, ...(m.replyMarkup ? { reply_markup: JSON.parse(m.replyMarkup) as InlineKeyboard } : {}) });
      }
    }
    return {
      lastUpdateId: Math.max(lastGiven, lastStored, lastPolled),
      pending: pending.map((row) => JSON.parse(row.payload!) as Update),
      chats: chats.filter((c) => c.removedAt === null).map((c) => JSON.parse(c.chat) as EmulatedChat),
      users: chats.filter((c) => c.removedAt === null && c.user !== null).map((c) => JSON.parse(c.user!) as EmulatedUser),
      userMessages,
      botMessages,
      removedUsers: chats.filter((c) => c.removedAt !== null).map((c) => c.chatId),
    };
  }

  queued(update: Update): void {
    const payload = JSON.stringify(update);
    this.db.insert(sandboxUpdates).values({ updateId: update.update_id, payload, createdAt: this.clock.now() }).onConflictDoUpdate({ target: sandboxUpdates.updateId, set: { payload } }).run();
  }

  taken(updateIds: number[]): void {
    // In slices: SQLite limits the parameters of one statement (drop_pending_updates can take many).
    this.db.transaction((tx) => {
      for (let i = 0; i < updateIds.length; i += 500) {
        tx.update(sandboxUpdates).set({ payload: null }).where(inArray(sandboxUpdates.updateId, updateIds.slice(i, i + 500))).run();
      }
    });
  }

  chat(chat: EmulatedChat): void {
    const json = JSON.stringify(chat);
    this.db.insert(sandboxChats).values({ chatId: chat.id, chat: json, createdAt: this.clock.now() }).onConflictDoUpdate({ target: sandboxChats.chatId, set: { chat: json } }).run();
  }

  user(user: EmulatedUser): void {
    const json = JSON.stringify(user);
    const chat = JSON.stringify({ id: user.id, type: "private", first_name: user.first_name } satisfies EmulatedChat);
    this.db
      .insert(sandboxChats)
      .values({ chatId: user.id, chat, user: json, createdAt: this.clock.now() })
      .onConflictDoUpdate({ target: sandboxChats.chatId, set: { user: json, removedAt: null } })
      .run();
  }

  userMessage(message: UserMessage): void {
    this.db
      .insert(sandboxMessages)
      .values({ chatId: message.chat_id, messageId: message.message_id, side: "user", text: message.text, date: message.date, sender: JSON.stringify(message.from) })
      .run();
  }

  botMessage(message: BotMessage): void {
    const changes = { text: message.text, replyMarkup: message.reply_markup ? JSON.stringify(message.reply_markup) : null };
    this.db
      .insert(sandboxMessages)
      .values({ chatId: message.chat_id, messageId: message.message_id, side: "bot", date: message.date, params: JSON.stringify(message.params), ...changes })
      .onConflictDoUpdate({ target: [sandboxMessages.chatId, sandboxMessages.messageId], set: changes })
      .run();
  }

  removeUser(userId: number): void {
    const now = this.clock.now();
    this.db.transaction((tx) => {
      tx.delete(sandboxMessages).where(eq(sandboxMessages.chatId, userId)).run();
      // Only the marker that the id was removed stays (a message to it then fails as Telegram's
      // "user is deactivated"): not their name, in the chat object nor the user.
      const marker = JSON.stringify({ id: userId, type: "private" });
      tx.insert(sandboxChats)
        .values({ chatId: userId, chat: marker, removedAt: now, createdAt: now })
        .onConflictDoUpdate({ target: sandboxChats.chatId, set: { chat: marker, user: null, removedAt: now } })
        .run();
    });
  }
}

import type { Clock } from "../clock.ts";
import type { Op } from "../db/op.ts";
import type { ChatScope } from "../runtime/chat-scope.ts";
import type { ChatChange } from "./outbox-outcomes.ts";
import type { SendRow } from "./outbox-send.ts";
import type { OutboxStore } from "./outbox-store.ts";
import type { SendRate } from "./send-rate.ts";
import type { WakeTimer } from "./wake-timer.ts";

export interface ChatQueue {
  chatId: number;
  /** Row ids waiting, oldest first; only the head is ever sent, the rest wait for it. */
  ids: number[];
  busy: boolean;
  /** Earliest time the chat may send again (per-chat spacing, a 429's retry_after, a backoff). */
  notBefore: number;
}

/** A chat's head row, picked to be sent now (its chat is busy until the outcome is recorded). */
export interface PickedSend {
  chat: ChatQueue;
  row: SendRow;
}

export interface ChatQueuesDeps {
  store: OutboxStore;
  /** SEND_RATE_GLOBAL, asked once a pick for all the chats that are due. */
  sendRate: SendRate;
  scope: ChatScope;
  clock: Clock;
  /** SEND_CONCURRENCY: sends in flight at most. */
  concurrency: number;
  /** Set by each pick for the next time a chat is due. */
  timer: WakeTimer;
}

/**
 * The outbox's chats in memory: each chat's row ids in order, whether its head is in flight, and
 * when it may send again. A pick takes the chats that are due, in turns, within SEND_CONCURRENCY
 * and the global rate, and sets the timer for the next one.
 */
export class ChatQueues {
  private readonly chats = new Map<number, ChatQueue>();
  /**
   * Chats whose queue emptied before their spacing ran out: when each may send again. A message
   * that comes meanwhile waits for it (a chat is forgotten once its queue is empty, its spacing is not).
   */
  private readonly resting = new Map<number, number>();
  private restingSweptAt = 0;
  private readonly store: OutboxStore;
  private readonly sendRate: SendRate;
  private readonly scope: ChatScope;
  private readonly clock: Clock;
  private readonly concurrency: number;
  private readonly timer: WakeTimer;

  constructor(deps: ChatQueuesDeps) {
    this.store = deps.store;
    this.sendRate = deps.sendRate;
    this.scope = deps.scope;
    this.clock = deps.clock;
    this.concurrency = deps.concurrency;
    this.timer = deps.timer;
  }

  /** True while the chat has rows queued or in flight. */
  has(chatId: number): boolean {
    return this.chats.has(chatId);
  }

  /** True when no chat has rows queued or in flight. */
  isEmpty(): boolean {
    return this.chats.size === 0;
  }

  /** Forgets a chat and its rows (another instance took it over). */
  drop(chatId: number): void {
    this.chats.delete(chatId);
    this.resting.delete(chatId);
  }

  /** Queues a row at the end of its chat's queue, not to be sent before `notBefore`. */
  track(chatId: number, id: number, notBefore: number): void {
    let chat = this.chats.get(chatId);
    if (!chat) {
      chat = { chatId, ids: [], busy: false, notBefore: this.resting.get(chatId) ?? 0 };
      this.resting.delete(chatId);
      this.chats.set(chatId, chat);
    }
    chat.ids.push(id);
    chat.notBefore = Math.max(chat.notBefore, notBefore);
  }

  /** The chat sends nothing before `notBefore` (a chat taken over: its last message, sent by another instance, counts). */
  spaceUntil(chatId: number, notBefore: number): void {
    const chat = this.chats.get(chatId);
    if (chat) chat.notBefore = Math.max(chat.notBefore, notBefore);
    else this.restUntil(chatId, notBefore, this.clock.now());
  }

  /** Frees a chat whose head's outcome is recorded, and applies what that outcome does to its queue. */
  settle(chat: ChatQueue, change: ChatChange, at: number): void {
    chat.busy = false;
    if (change.kind === "moved") {
      for (const id of chat.ids.splice(0)) this.track(change.to, id, at);
      return;
    }
    if (change.kind === "next") chat.ids.shift();
    chat.notBefore = Math.max(chat.notBefore, change.notBefore);
  }

  /** Frees the chats of picked sends that will not start now (their commit failed, or the outbox is stopping). */
  release(picked: PickedSend[]): void {
    for (const { chat } of picked) chat.busy = false;
  }

  /**
   * The sends that are due now, given `inFlight` sends already out (their chats marked busy); sets
   * the timer for the next one. Their head rows are read together and the global rate is asked once
   * for all of them: on PostgreSQL each is a round trip.
   */
  *pickSends(inFlight: number): Op<PickedSend[]> {
    const now = this.clock.now();
    let wakeAt = Infinity;
    const due: ChatQueue[] = [];
    this.sweepResting(now);
    for (const chat of [...this.chats.values()]) {
      if (inFlight + due.length >= this.concurrency) break;
      if (chat.busy) continue;
      if (!this.scope.owns(chat.chatId)) {
        this.chats.delete(chat.chatId);
        continue;
      }
      if (chat.ids.length === 0) {
        this.rest(chat, now);
        continue;
      }
      if (chat.notBefore > now) {
        wakeAt = Math.min(wakeAt, chat.notBefore);
        continue;
      }
      due.push(chat);
    }
    const starting: PickedSend[] = [];
    if (due.length > 0) {
      // The rate first: under a rate limit most ticks start nothing, and read no row for it. A
      // head found gone afterwards wastes its grant (a send a little under the rate, never over).
      const { granted, waitMs } = yield* this.sendRate.takeUpTo(due.length, now);
      if (granted < due.length) wakeAt = Math.min(wakeAt, now + waitMs);
      const ready = granted > 0 ? yield* this.headRows(due.slice(0, granted)) : [];
      for (const start of ready) {
        start.chat.busy = true;
        starting.push(start);
        // Move the chat to the back so chats take turns.
        this.chats.delete(start.chat.chatId);
        this.chats.set(start.chat.chatId, start.chat);
      }
    }
    this.timer.sleepUntil(wakeAt);
    return starting;
  }

  /** Each chat's oldest row still to send; drops ids whose rows are gone, done, or not the chat's (and chats left with none). */
  private *headRows(chats: ChatQueue[]): Op<PickedSend[]> {
    const found: PickedSend[] = [];
    let pending = chats;
    while (pending.length > 0) {
      const rows = new Map((yield* this.store.readMany(pending.map((chat) => chat.ids[0]!))).map((row) => [row.id, row]));
      const again: ChatQueue[] = [];
      for (const chat of pending) {
        const row = rows.get(chat.ids[0]!);
        // A rolled-back enqueue leaves an id behind, and SQLite may give that id to another row.
        if (row && row.chat_id === chat.chatId && (row.status === "queued" || row.status === "sending")) {
          found.push({ chat, row });
          continue;
        }
        chat.ids.shift();
        if (chat.ids.length > 0) again.push(chat);
        else this.rest(chat, this.clock.now());
      }
      pending = again;
    }
    // In the order the chats take turns.
    const order = new Map(chats.map((chat, i) => [chat, i]));
    return found.sort((a, b) => order.get(a.chat)! - order.get(b.chat)!);
  }

  /** Forgets a chat whose queue is empty, keeping when it may send again if that is still ahead. */
  private rest(chat: ChatQueue, now: number): void {
    this.chats.delete(chat.chatId);
    this.restUntil(chat.chatId, chat.notBefore, now);
  }

  /** A chat with nothing queued may send again only from `notBefore`, when that is still ahead. */
  private restUntil(chatId: number, notBefore: number, now: number): void {
    if (notBefore > now) this.resting.set(chatId, Math.max(this.resting.get(chatId) ?? 0, notBefore));
  }

  /** At most once a second, drops the resting chats whose spacing has run out. */
  private sweepResting(now: number): void {
    if (now - this.restingSweptAt < 1000) return;
    this.restingSweptAt = now;
    for (const [chatId, notBefore] of this.resting) if (notBefore <= now) this.resting.delete(chatId);
  }
}

/** Helpers shared by the runtime and agent tests: talking like a person, a clock tests can move, a log to read. */
import { Database } from "bun:sqlite";
import type { Clock } from "../../src/clock.ts";
import type { Logger, LogFields } from "../../src/observability/log.ts";
import type { BotApiEmulator, BotMessage, EmulatedUser } from "../../src/sandbox/emulator.ts";
import { waitFor } from "../helpers.ts";

/** Waits until the bot has sent `count` messages to the chat and returns the last of them. */
export function botMessage(emulator: BotApiEmulator, chatId: number, count: number, timeoutMs = 10_000): Promise<BotMessage> {
  return waitFor(() => {
    const sent = emulator.sentTo(chatId);
    return sent.length >= count ? sent[count - 1] : undefined;
  }, `message #${count} to chat ${chatId} (sent so far: ${JSON.stringify(emulator.sentTo(chatId).map((m) => m.text.slice(0, 40)))})`, timeoutMs);
}

/**
 * A person in a chat: says something, then waits for the bot's next message before going on,
 * as people do. Keeps its own count of what the bot sent to the chat.
 */
export class Person {
  seen: number;
  constructor(
    readonly emulator: BotApiEmulator,
    readonly user: EmulatedUser,
    readonly chat?: { id: number; type: string; title?: string },
  ) {
    this.seen = emulator.sentTo(this.chatId).length;
  }

  get chatId(): number {
    return this.chat?.id ?? this.user.id;
  }

  /** Sends `text` and resolves with the bot's next message in the chat. */
  async say(text: string, timeoutMs?: number): Promise<string> {
    this.emulator.sendText(this.user, text, this.chat);
    return this.hear(timeoutMs);
  }

  /** The bot's next message in the chat. */
  async hear(timeoutMs?: number): Promise<string> {
    this.seen++;
    return (await botMessage(this.emulator, this.chatId, this.seen, timeoutMs)).text;
  }
}

/**
 * The system clock shifted by an offset the test moves forward: `advance(ms)` fires every
 * timer that is due, so a one-day timeout can be tested in milliseconds. Timers also fire
 * on their own in real time, like the system clock's.
 */
export class ShiftableClock implements Clock {
  private offset = 0;
  private readonly timers = new Set<{ dueAt: number; fire: () => void }>();

  now(): number {
    return Date.now() + this.offset;
  }

  setTimeout(fn: () => void, ms: number): { cancel(): void } {
    const timer = {
      dueAt: this.now() + Math.max(0, ms),
      fire: () => {
        if (!this.timers.delete(timer)) return;
        clearTimeout(handle);
        fn();
      },
    };
    this.timers.add(timer);
    const handle = setTimeout(timer.fire, Math.min(Math.max(0, ms), 2_000_000_000));
    return { cancel: () => (this.timers.delete(timer), clearTimeout(handle)) };
  }

  advance(ms: number): void {
    this.offset += ms;
    const now = this.now();
    for (const timer of [...this.timers]) if (timer.dueAt <= now) timer.fire();
  }
}

/**
 * A clock that stands still until the test moves it: `advance(ms)` fires the timers due by then,
 * earliest first; none fires on its own. For tests that check what happens at given times
 * exactly, whatever the machine's speed.
 */
export class ManualClock implements Clock {
  private at: number;
  private readonly timers = new Set<{ dueAt: number; fire: () => void }>();

  constructor(start = Date.now()) {
    this.at = start;
  }

  now(): number {
    return this.at;
  }

  setTimeout(fn: () => void, ms: number): { cancel(): void } {
    const timer = { dueAt: this.at + Math.max(0, ms), fire: fn };
    this.timers.add(timer);
    return { cancel: () => void this.timers.delete(timer) };
  }

  /** How many timers wait to fire. */
  get pending(): number {
    return this.timers.size;
  }

  advance(ms: number): void {
    this.at += ms;
    const due = [...this.timers].filter((timer) => timer.dueAt <= this.at).sort((a, b) => a.dueAt - b.dueAt);
    for (const timer of due) if (this.timers.delete(timer)) timer.fire();
  }
}

export interface LogLine extends LogFields {
  level: string;
  msg: string;
}

/** A logger that keeps every line, for tests that check what was logged. */
export function capturingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (msg: string, fields?: LogFields) => void lines.push({ ...fields, level, msg });
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** A promise with its resolve, for agents a test holds busy until it lets them go. */
export function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

let nextUserId = 7_000_000;
/** A fresh user id for each test, so tests sharing an emulator never share a chat. */
export function newUser(first_name: string, language_code = "en"): EmulatedUser {
  return { id: nextUserId++, first_name, language_code };
}

/** Reads a (possibly running) service's SQLite file read-only; WAL lets it read beside the writer. */
export function readDb<T>(path: string, sql: string, ...params: (string | number)[]): T[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.query(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** The source of an agent module that asks two questions (the second is `question`), for replay-check's tests. */
export const surveyModule = (question: string) => `
export default async function survey(ctx) {
  const name = await ctx.ask("name?");
  await ctx.reply("hello " + name);
  await ctx.ask(${JSON.stringify(question)});
  await ctx.reply("thanks");
}
`;

/**
 * A step function that throws "payment service down" on its first call and returns `value` after:
 * a payment API that was down once. Counted outside the agent, since each attempt after a
 * backoff comes from a fresh execution of it.
 */
export function failsOnce<T>(value: T): { fn: () => T; readonly attempts: number } {
  let attempts = 0;
  return {
    fn: () => {
      attempts++;
      if (attempts === 1) throw new Error("payment service down");
      return value;
    },
    get attempts() {
      return attempts;
    },
  };
}

import { Elysia, t } from "elysia";
import { errorFields, type Logger } from "../observability/log.ts";
import type { BotApiEmulator, EmulatedUser } from "./emulator.ts";
import pageImport from "./page.html" with { type: "text" };
import style from "./page.css" with { type: "text" };
import script from "./page.js" with { type: "text" };

/** A chat whose run waits on `ask`, with the question it asked. */
export interface WaitingChat {
  chatId: number;
  question: string;
}

export interface SandboxDependencies {
  emulator: BotApiEmulator;
  /** Reads the runtime's waiting runs (private chats: chat id = user id). */
  waitingChats: () => WaitingChat[];
  log: Logger;
  /** How often the waiting state is re-read while a page is open (an answer is recorded without a bot message). */
  refreshEveryMs?: number;
  /** Comment lines keep idle streams open through proxies. */
  heartbeatEveryMs?: number;
}

/** One line of a chat as the page shows it. */
export interface ChatLine {
  message_id: number;
  side: "user" | "bot";
  text: string;
  date: number;
}

export interface ChatHistory {
  chat_id: number;
  /** The user who wrote in this private chat (the latest name and language they used). */
  user: EmulatedUser | null;
  messages: ChatLine[];
  /** The question the bot is waiting on, or null. */
  waiting: string | null;
}

type StreamEvent =
  | { event: "snapshot"; data: { chats: ChatHistory[] } }
  | { event: "message"; data: { chat_id: number; user?: EmulatedUser; message: ChatLine } }
  | { event: "typing"; data: { chat_id: number; action: string } }
  | { event: "waiting"; data: { chat_id: number; question: string | null } };

const SendBody = t.Object({
  user: t.Object({
    id: t.Integer({ minimum: 1, maximum: 2 ** 52 }),
    first_name: t.String({ minLength: 1, maxLength: 64 }),
    language_code: t.Optional(t.String({ pattern: "^[a-z]{2,3}(-[A-Za-z0-9]+)?$" })),
  }),
  text: t.String({ minLength: 1, maxLength: 4096 }),
});

// bun-types declares every "*.html" import an HTMLBundle; the "text" attribute makes it the file's text.
const page = pageImport as unknown as string;
const encoder = new TextEncoder();

function asset(body: string, type: string): Response {
  return new Response(body, { headers: { "content-type": `${type}; charset=utf-8`, "cache-control": "no-cache" } });
}

/** Every chat the emulator has seen, oldest message first, with its waiting state. */
export function sandboxHistory(emulator: BotApiEmulator, waiting: Map<number, string>): ChatHistory[] {
  const chats = new Map<number, ChatHistory>();
  const chat = (id: number) => {
    let entry = chats.get(id);
    if (!entry) chats.set(id, (entry = { chat_id: id, user: null, messages: [], waiting: waiting.get(id) ?? null }));
    return entry;
  };
  for (const m of emulator.userMessages) {
    const entry = chat(m.chat_id);
    entry.user = m.from;
    entry.messages.push({ message_id: m.message_id, side: "user", text: m.text, date: m.date });
  }
  for (const m of emulator.messages) chat(m.chat_id).messages.push({ message_id: m.message_id, side: "bot", text: m.text, date: m.date });
  // User and bot messages share each chat's message_id sequence, so it orders them.
  for (const entry of chats.values()) entry.messages.sort((a, b) => a.message_id - b.message_id);
  return [...chats.values()];
}

/**
 * The sandbox chat page and its API, mounted only in sandbox mode: the page and its assets,
 * a Server-Sent Events stream of what happens in the emulator (messages both ways, typing,
 * the bot waiting for an answer), the history, and sending as a user.
 */
export function sandboxRoutes(deps: SandboxDependencies) {
  const { emulator, log } = deps;
  const clients = new Set<(event: StreamEvent) => void>();
  let waiting = new Map<number, string>();
  let refresher: ReturnType<typeof setInterval> | undefined;

  const broadcast = (event: StreamEvent) => {
    for (const send of clients) send(event);
  };

  const readWaiting = (): Map<number, string> => {
    try {
      return new Map(deps.waitingChats().map((w) => [w.chatId, w.question]));
    } catch (error) {
      // Only while the service starts (runtime not built yet) or stops (database closed).
      log.debug("sandbox: could not read waiting runs", errorFields(error));
      return waiting;
    }
  };

  /** Re-reads the waiting chats and pushes what changed. */
  const refreshWaiting = () => {
    const next = readWaiting();
    for (const [chatId, question] of next) {
      if (waiting.get(chatId) !== question) broadcast({ event: "waiting", data: { chat_id: chatId, question } });
    }
    for (const chatId of waiting.keys()) {
      if (!next.has(chatId)) broadcast({ event: "waiting", data: { chat_id: chatId, question: null } });
    }
    waiting = next;
  };

  emulator.subscribe((event) => {
    if (event.type === "chat_action") {
      broadcast({ event: "typing", data: { chat_id: event.chat_id, action: event.action } });
      return;
    }
    if (event.type === "bot_message") {
      const { message_id, text, date } = event.message;
      broadcast({ event: "message", data: { chat_id: event.chat_id, message: { message_id, side: "bot", text, date } } });
      // A question is journaled as waiting before it is sent, so the state is already readable.
      if (clients.size > 0) refreshWaiting();
      return;
    }
    const m = event.message as { message_id: number; text?: string; date: number; from: EmulatedUser };
    const user: EmulatedUser = { id: m.from.id, first_name: m.from.first_name, ...(m.from.language_code ? { language_code: m.from.language_code } : {}) };
    broadcast({ event: "message", data: { chat_id: event.chat_id, user, message: { message_id: m.message_id, side: "user", text: m.text ?? "", date: m.date } } });
  });

  const connect = (request: Request): Response => {
    let close = () => {};
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        const write = (chunk: string) => {
          try {
            controller.enqueue(encoder.encode(chunk));
          } catch {
            close(); // the page went away
          }
        };
        const send = (event: StreamEvent) => write(`event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`);
        const heartbeat = setInterval(() => write(": keep-alive\n\n"), deps.heartbeatEveryMs ?? 15_000);
        heartbeat.unref();
        let closed = false;
        close = () => {
          if (closed) return;
          closed = true;
          clients.delete(send);
          clearInterval(heartbeat);
          if (clients.size === 0) {
            clearInterval(refresher);
            refresher = undefined;
          }
          try {
            controller.close();
          } catch {
            // already closed by the client
          }
        };
        // Pages already open get what changed; this one starts from the same state.
        refreshWaiting();
        clients.add(send);
        // Everything so far first, then live events (all in this turn, so none is missed or doubled):
        // a reconnecting page simply rebuilds from it.
        write("retry: 1000\n\n");
        send({ event: "snapshot", data: { chats: sandboxHistory(emulator, waiting) } });
        if (!refresher && !closed) {
          refresher = setInterval(refreshWaiting, deps.refreshEveryMs ?? 250);
          refresher.unref();
        }
      },
      cancel() {
        close();
      },
    });
    request.signal.addEventListener("abort", () => close());
    return new Response(stream, { headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-accel-buffering": "no" } });
  };

  return new Elysia({ prefix: "/sandbox", detail: { hide: true } })
    .get("/", () => asset(page, "text/html"))
    .get("/page.css", () => asset(style, "text/css"))
    .get("/page.js", () => asset(script, "text/javascript"))
    .get("/events", ({ request, server }) => {
      // Bun closes connections idle for 10 s; an event stream is idle by nature.
      server?.timeout(request, 0);
      return connect(request);
    })
    .get("/history", () => ({ ok: true as const, chats: sandboxHistory(emulator, readWaiting()) }))
    .post(
      "/send",
      ({ body }) => {
        const user: EmulatedUser = { id: body.user.id, first_name: body.user.first_name, ...(body.user.language_code ? { language_code: body.user.language_code } : {}) };
        const update = emulator.sendText(user, body.text);
        return { ok: true as const, update_id: update.update_id };
      },
      { body: SendBody },
    );
}

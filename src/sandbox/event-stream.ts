import { errorFields, type Logger } from "../observability/log.ts";
import type { BotApiEmulator, EmulatedUser } from "./emulator.ts";
import { botLine, pageUser, sandboxHistory, userLine, type ChatHistory, type ChatLine } from "./history.ts";

/** A chat whose run waits on `ask`, with the question it asked. */
export interface WaitingChat {
  chatId: number;
  question: string;
}

export interface EventStreamOptions {
  emulator: BotApiEmulator;
  /** Reads the runtime's waiting runs (private chats: chat id = user id). */
  waitingChats: () => WaitingChat[];
  /** The running agent's name (a built-in's, or the module's path): the page's hint depends on it. */
  agent: string;
  /** LLM_MODEL with AGENT=llm: the hint names it. */
  model?: string;
  log: Logger;
  /** How often the waiting state is re-read while a page is open (an answer is recorded without a bot message). */
  refreshEveryMs?: number;
  /** Comment lines keep idle streams open through proxies. */
  heartbeatEveryMs?: number;
}

export type StreamEvent =
  | { event: "snapshot"; data: { agent: string; model?: string; chats: ChatHistory[] } }
  | { event: "message"; data: { chat_id: number; user?: EmulatedUser; message: ChatLine } }
  /** A bot message changed (its text, or its keyboard: a chosen answer is marked). */
  | { event: "edited"; data: { chat_id: number; message: ChatLine } }
  | { event: "typing"; data: { chat_id: number; action: string } }
  | { event: "waiting"; data: { chat_id: number; question: string | null } }
  /** The bot's notice for a button tap (answerCallbackQuery's text). */
  | { event: "notice"; data: { chat_id: number; text: string } }
  | { event: "user"; data: { user: EmulatedUser } }
  | { event: "removed"; data: { chat_id: number } };

const encoder = new TextEncoder();

/**
 * The page's live view: a Server-Sent Events stream that starts with a snapshot of every chat
 * and then carries what happens in the emulator (messages both ways, edits, typing, taps'
 * notices, users added and removed) and the bot's waiting state. A page that reconnects (after
 * a restart too) simply rebuilds from the snapshot.
 */
export class SandboxEventStream {
  private readonly clients = new Set<(event: StreamEvent) => void>();
  private waiting = new Map<number, string>();
  private refresher: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly options: EventStreamOptions) {
    options.emulator.subscribe((event) => {
      switch (event.type) {
        case "chat_action":
          return this.broadcast({ event: "typing", data: { chat_id: event.chat_id, action: event.action } });
        case "bot_message":
          this.broadcast({ event: "message", data: { chat_id: event.chat_id, message: botLine(event.message) } });
          // A question is journaled as waiting before it is sent, so the state is already readable.
          if (this.clients.size > 0) this.refreshWaiting();
          return;
        case "bot_message_edited":
          return this.broadcast({ event: "edited", data: { chat_id: event.chat_id, message: botLine(event.message) } });
        case "callback_answer":
          return this.broadcast({ event: "notice", data: { chat_id: event.chat_id, text: event.text } });
        case "user_added":
          return this.broadcast({ event: "user", data: { user: pageUser(event.user) } });
        case "user_removed":
          return this.broadcast({ event: "removed", data: { chat_id: event.user_id } });
        case "user_message": {
          const m = event.message as { message_id: number; text?: string; date: number; from: EmulatedUser };
          const line = userLine({ message_id: m.message_id, text: m.text ?? "", date: m.date });
          return this.broadcast({ event: "message", data: { chat_id: event.chat_id, user: pageUser(m.from), message: line } });
        }
      }
    });
  }

  /** Every chat with its history and waiting state, read now. */
  history(): ChatHistory[] {
    return sandboxHistory(this.options.emulator, this.readWaiting());
  }

  private broadcast(event: StreamEvent): void {
    for (const send of this.clients) send(event);
  }

  private readWaiting(): Map<number, string> {
    try {
      // A removed user's run may still wait (until its question times out); the page no longer shows them.
      const shown = this.options.waitingChats().filter((w) => !this.options.emulator.removedUsers.has(w.chatId));
      return new Map(shown.map((w) => [w.chatId, w.question]));
    } catch (error) {
      // Only while the service starts (runtime not built yet) or stops (database closed).
      this.options.log.debug("sandbox: could not read waiting runs", errorFields(error));
      return this.waiting;
    }
  }

  /** Re-reads the waiting chats and pushes what changed. */
  private refreshWaiting(): void {
    const next = this.readWaiting();
    for (const [chatId, question] of next) {
      if (this.waiting.get(chatId) !== question) this.broadcast({ event: "waiting", data: { chat_id: chatId, question } });
    }
    for (const chatId of this.waiting.keys()) {
      if (!next.has(chatId)) this.broadcast({ event: "waiting", data: { chat_id: chatId, question: null } });
    }
    this.waiting = next;
  }

  /** Opens a stream for one page. */
  connect(request: Request): Response {
    let close = () => {};
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        const write = (chunk: string) => {
          try {
            controller.enqueue(encoder.encode(chunk));
          } catch {
            close(); // the page went away
          }
        };
        const send = (event: StreamEvent) => write(`event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`);
        const heartbeat = setInterval(() => write(": keep-alive\n\n"), this.options.heartbeatEveryMs ?? 15_000);
        heartbeat.unref();
        let closed = false;
        close = () => {
          if (closed) return;
          closed = true;
          this.clients.delete(send);
          clearInterval(heartbeat);
          if (this.clients.size === 0) {
            clearInterval(this.refresher);
            this.refresher = undefined;
          }
          try {
            controller.close();
          } catch {
            // already closed by the client
          }
        };
        // Pages already open get what changed; this one starts from the same state.
        this.refreshWaiting();
        this.clients.add(send);
        // Everything so far first, then live events (all in this turn, so none is missed or doubled).
        write("retry: 1000\n\n");
        send({ event: "snapshot", data: { agent: this.options.agent, ...(this.options.model ? { model: this.options.model } : {}), chats: sandboxHistory(this.options.emulator, this.waiting) } });
        if (!this.refresher && !closed) {
          this.refresher = setInterval(() => this.refreshWaiting(), this.options.refreshEveryMs ?? 250);
          this.refresher.unref();
        }
      },
      cancel: () => close(),
    });
    request.signal.addEventListener("abort", () => close());
    return new Response(stream, { headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-accel-buffering": "no" } });
  }
}

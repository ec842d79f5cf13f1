import { parseHtml, type MessageEntity } from "./html-entities.ts";
import { injectFaults, noFaults, takeRawAnswer } from "./emulator-faults.ts";
import { ApiError, isTrue, jsonParam, parseList, readParams } from "./emulator-http.ts";
import { LongPoll } from "./emulator-long-poll.ts";
import { EmulatorState, isObject } from "./emulator-state.ts";
import type { EmulatorStore } from "./emulator-store.ts";
import { botMessageObject } from "./emulator-user-side.ts";
import { isAllowed, WebhookDelivery } from "./emulator-webhook.ts";
import type { BotMessage, EmulatedUser, Faults, InlineKeyboard, Params, RecordedCall, Update } from "./emulator-types.ts";

/** A message text as Telegram checks it: 1-4096 characters after entities parsing (parse_mode HTML parsed). */
function checkedText(params: Params): { text: string; entities: MessageEntity[] } {
  const raw = typeof params.text === "string" ? params.text : "";
  const parsed = params.parse_mode === "HTML" ? parseHtml(raw) : { text: raw, entities: [] };
  if (parsed.text.trim() === "") throw new ApiError(400, "Bad Request: message text is empty");
  if (parsed.text.length > 4096) throw new ApiError(400, "Bad Request: message is too long");
  return parsed;
}

const NOT_MODIFIED = "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message";
const QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid";


/** An inline keyboard from a reply_markup parameter (object or JSON text); undefined for anything else. */
function inlineKeyboardOf(value: unknown): InlineKeyboard | undefined {
  const markup = jsonParam(value);
  return isObject(markup) && Array.isArray(markup.inline_keyboard) ? (markup as unknown as InlineKeyboard) : undefined;
}

/**
 * The bot's side of the emulator: the Bot API methods over HTTP on the emulator's state (its
 * chats, messages and queue, in EmulatorState), the webhook, and the faults they answer with.
 */
export class BotApiMethods extends EmulatorState {
  readonly calls: RecordedCall[] = [];
  faults: Faults = noFaults();
  /** Base of the backoff between webhook delivery attempts (Telegram waits seconds; tests may shorten it). */
  webhookRetryBaseMs = 1000;
  /** How long a webhook delivery may take before it counts as failed (Telegram does not say; tests shorten it). */
  webhookTimeoutMs = 60_000;
  /** getUpdates answers at once whatever its `timeout` (a misbehaving Bot API server). */
  ignoreLongPollTimeout = false;
  /** Calls being answered right now, and the most ever answered at once, by method (checks SEND_CONCURRENCY). */
  readonly inFlightCalls = new Map<string, number>();
  readonly peakInFlight = new Map<string, number>();
  readonly botInfo: EmulatedUser & Record<string, unknown>;

  protected readonly delivery: WebhookDelivery;
  /** The Bot API methods the emulator answers, by their names. */
  private readonly handlers = new Map<string, (params: Params) => unknown>([
    ["getMe", () => this.botInfo],
    ["sendMessage", (params) => this.sendMessage(params)],
    ["editMessageText", (params) => this.editMessageText(params)],
    ["editMessageReplyMarkup", (params) => this.editMessageReplyMarkup(params)],
    ["answerCallbackQuery", (params) => this.answerCallbackQuery(params)],
    ["sendChatAction", (params) => this.sendChatAction(params)],
    ["setWebhook", (params) => this.setWebhook(params)],
    ["deleteWebhook", (params) => this.deleteWebhook(params)],
    ["getWebhookInfo", () => this.delivery.info(this.queue.length)],
    ["getUpdates", (params) => this.getUpdates(params)],
  ]);
  private readonly methodNames = new Map([...this.handlers.keys()].map((name) => [name.toLowerCase(), name]));
  /** getUpdates' allowed_updates, as the last call that gave it said (empty: Telegram's default). */
  private pollAllowed: { types: string[]; after: number } = { types: [], after: 0 };
  private readonly longPoll = new LongPoll();
  private server: ReturnType<typeof Bun.serve> | undefined;
  private stopped = false;

  constructor(
    readonly token: string,
    protected random: () => number,
    username: string,
    store?: EmulatorStore,
  ) {
    super(store);
    this.botInfo = {
      id: 7_000_000_001,
      is_bot: true,
      first_name: "timbre sandbox",
      username,
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
    };
    this.delivery = new WebhookDelivery({
      pending: () => this.queue,
      delivered: (id) => this.take((u) => u.update_id === id),
      retryBaseMs: () => this.webhookRetryBaseMs,
      timeoutMs: () => this.webhookTimeoutMs,
    });
  }

  /** Serves the Bot API on 127.0.0.1 at a free port; returns the API root (use as TELEGRAM_API_URL). */
  listen(): string {
    this.server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => this.fetch(req) });
    return `http://127.0.0.1:${this.server.port}`;
  }

  stop(): void {
    this.stopped = true;
    this.delivery.stop();
    this.longPoll.kickActive();
    this.longPoll.wake();
    this.server?.stop(true);
  }

  /** Handles `/bot<token>/<method>` (with any prefix before `/bot`). */
  async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    const match = /\/bot([^/]+)\/([A-Za-z]+)$/.exec(path);
    if (!match) return Response.json({ ok: false, error_code: 404, description: "Not Found" }, { status: 404 });
    const [, token, named] = match as unknown as [string, string, string];
    // "All methods in the Bot API are case-insensitive."
    const method = this.methodNames.get(named.toLowerCase()) ?? named;
    let params: Params = {};
    try {
      params = await readParams(request);
    } catch {
      return this.answer(method, {}, new ApiError(400, "Bad Request: can't parse request body"));
    }
    if (token !== this.token) return this.answer(method, params, new ApiError(401, "Unauthorized"));
    const inFlight = (this.inFlightCalls.get(method) ?? 0) + 1;
    this.inFlightCalls.set(method, inFlight);
    this.peakInFlight.set(method, Math.max(this.peakInFlight.get(method) ?? 0, inFlight));
    try {
      if (this.faults.delayMs > 0) await Bun.sleep(this.faults.delayMs);
      const raw = takeRawAnswer(this.faults, method);
      if (raw) {
        this.calls.push({ method, params, at: Date.now(), status: raw.status });
        return new Response(raw.body, { status: raw.status, headers: { "content-type": raw.contentType ?? "text/html" } });
      }
      injectFaults(this.faults, this.random, method, params);
      return this.answer(method, params, await this.call(method, params));
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError(500, `Internal Server Error: ${String(error)}`);
      return this.answer(method, params, apiError);
    } finally {
      this.inFlightCalls.set(method, this.inFlightCalls.get(method)! - 1);
    }
  }

  private answer(method: string, params: Params, result: unknown): Response {
    const status = result instanceof ApiError ? result.code : 200;
    this.calls.push({ method, params, at: Date.now(), status });
    return result instanceof ApiError ? result.toResponse() : Response.json({ ok: true, result });
  }

  private async call(method: string, params: Params): Promise<unknown> {
    const handler = this.handlers.get(method);
    if (!handler) throw new ApiError(404, "Not Found: method not found");
    return handler(params);
  }

  private deleteWebhook(params: Params): true {
    this.delivery.hook = undefined;
    if (isTrue(params.drop_pending_updates)) this.take(() => true);
    this.wakePollers();
    return true;
  }

  private message(params: Params): BotMessage {
    const chatId = this.reachableChat(params);
    const message = this.messages.find((m) => m.chat_id === chatId && m.message_id === Number(params.message_id));
    if (!message) throw new ApiError(400, "Bad Request: message to edit not found");
    return message;
  }

  private sendChatAction(params: Params): true {
    const chatId = this.reachableChat(params);
    const chat = this.chatOf(chatId);
    // The Bot API: "Channel chats and channel direct messages chats aren't supported."
    if (chat.type === "channel" || chat.is_direct_messages) throw new ApiError(400, "Bad Request: chat actions are not supported in this chat");
    this.emit({ type: "chat_action", chat_id: chatId, action: String(params.action ?? "typing") });
    return true;
  }

  private sendMessage(params: Params) {
    const chatId = this.reachableChat(params);
    const { text, entities } = checkedText(params);
    const chat = this.chatOf(chatId);
    // The Bot API requires direct_messages_topic_id in a channel's direct-messages chat.
    if (chat.is_direct_messages && params.direct_messages_topic_id === undefined) throw new ApiError(400, "Bad Request: direct messages topic must be specified");
    const replyMarkup = inlineKeyboardOf(params.reply_markup);
    const message: BotMessage = {
      chat_id: chatId,
      message_id: this.nextMessageId(chatId),
      text,
      date: Math.floor(Date.now() / 1000),
      params,
      ...(replyMarkup ? { reply_markup: replyMarkup } : {}),
      ...(entities.length > 0 ? { entities } : {}),
    };
    this.store?.botMessage(message);
    this.messages.push(message);
    this.emit({ type: "bot_message", chat_id: chatId, message });
    return botMessageObject(message, chat, this.botInfo);
  }

  private edited(message: BotMessage) {
    this.store?.botMessage(message);
    this.emit({ type: "bot_message_edited", chat_id: message.chat_id, message });
    return botMessageObject(message, this.chatOf(message.chat_id), this.botInfo);
  }

  private editMessageText(params: Params) {
    const message = this.message(params);
    const { text, entities } = checkedText(params);
    const keyboard = inlineKeyboardOf(params.reply_markup);
    if (text === message.text && JSON.stringify(entities) === JSON.stringify(message.entities ?? []) && JSON.stringify(keyboard) === JSON.stringify(message.reply_markup)) throw new ApiError(400, NOT_MODIFIED);
    message.text = text;
    if (entities.length > 0) message.entities = entities;
    else delete message.entities;
    // As Telegram: an edit without reply_markup removes the inline keyboard.
    if (keyboard) message.reply_markup = keyboard;
    else delete message.reply_markup;
    return this.edited(message);
  }

  /** Replaces (or, without reply_markup, removes) a message's inline keyboard; the same keyboard again is "not modified". */
  private editMessageReplyMarkup(params: Params) {
    const message = this.message(params);
    const next = inlineKeyboardOf(params.reply_markup);
    const empty = (markup: InlineKeyboard | undefined) => !markup || markup.inline_keyboard.every((row) => row.length === 0);
    if (JSON.stringify(next) === JSON.stringify(message.reply_markup) || (empty(next) && empty(message.reply_markup))) throw new ApiError(400, NOT_MODIFIED);
    if (empty(next)) delete message.reply_markup;
    else message.reply_markup = next;
    return this.edited(message);
  }

  private answerCallbackQuery(params: Params) {
    const query = this.callbackQueries.get(String(params.callback_query_id ?? ""));
    if (!query || query.answered) throw new ApiError(400, QUERY_INVALID);
    query.answered = true;
    if (typeof params.text === "string") query.text = params.text;
    const chatId = this.callbackQueryChats.get(String(params.callback_query_id));
    if (typeof params.text === "string" && chatId !== undefined) this.emit({ type: "callback_answer", chat_id: chatId, text: params.text });
    return true;
  }

  private setWebhook(params: Params) {
    this.delivery.configure(params);
    if (isTrue(params.drop_pending_updates)) this.take(() => true);
    this.longPoll.kickActive();
    this.delivery.schedule(0);
    return true;
  }

  private async getUpdates(params: Params): Promise<Update[]> {
    if (this.delivery.hook) {
      throw new ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
    }
    const offset = Number(params.offset ?? 0);
    if (offset > 0) this.take((u) => u.update_id < offset);
    // A negative offset keeps the last -offset updates and forgets all before them.
    const kept = this.queue.at(Math.max(offset, -this.queue.length));
    if (offset < 0 && kept) this.take((u) => u.update_id < kept.update_id);
    // allowed_updates holds until a later call gives another; updates of other types created after
    // the call that gave it are dropped (it "doesn't affect updates created before the call").
    const allowed = parseList(params.allowed_updates);
    if (allowed && allowed.join() !== this.pollAllowed.types.join()) this.pollAllowed = { types: allowed, after: this.queue.at(-1)?.update_id ?? 0 };
    const wanted = (u: Update) => u.update_id <= this.pollAllowed.after || isAllowed(u, this.pollAllowed.types);
    this.take((u) => !wanted(u));
    const limit = Math.min(Math.max(Number(params.limit ?? 100), 1), 100);
    const timeoutMs = this.ignoreLongPollTimeout ? 0 : Math.min(Math.max(Number(params.timeout ?? 0), 0), 50) * 1000;
    await this.longPoll.wait(timeoutMs, () => this.queue.some(wanted) || this.stopped || this.delivery.hook !== undefined);
    return this.queue.filter(wanted).slice(0, limit);
  }

  protected wakePollers(): void {
    this.longPoll.wake();
  }

}

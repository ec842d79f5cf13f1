/**
 * An in-process fake of the Telegram Bot API: the subset timbre uses, with Telegram's JSON
 * shapes and error format. Tests use it as Telegram; sandbox mode mounts it on the service's
 * own server. It records every call, delivers updates to a webhook (secret header, per-chat
 * order, retries with backoff on non-2xx like Telegram) or hands them to getUpdates, and can
 * inject 429s, 5xx, 403s and delays.
 */

export interface EmulatedUser {
  id: number;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
}

export interface RecordedCall {
  method: string;
  params: Record<string, unknown>;
  at: number;
  /** The HTTP status the emulator answered with. */
  status: number;
}

export interface BotMessage {
  chat_id: number;
  message_id: number;
  text: string;
  date: number;
  params: Record<string, unknown>;
}

export interface Faults {
  /** Share of matching calls answered 429 with `retry_after`. */
  rate429: number;
  retryAfter: number;
  /** Share of matching calls answered 502. */
  rate5xx: number;
  /** Every matching call answers 502 (Telegram down). */
  down: boolean;
  /** Added before every answer. */
  delayMs: number;
  /** Chats whose sends answer 403 "bot was blocked by the user". */
  blockedChats: Set<number>;
  /** Methods the random faults apply to; empty = all. */
  methods: string[];
}

/** A text a user wrote (sendText); shares the chat's message_id sequence with the bot's messages. */
export interface UserMessage {
  chat_id: number;
  message_id: number;
  text: string;
  date: number;
  from: EmulatedUser;
}

export type EmulatorEvent =
  | { type: "user_message"; chat_id: number; message: Record<string, unknown> }
  | { type: "bot_message"; chat_id: number; message: BotMessage }
  | { type: "chat_action"; chat_id: number; action: string };

interface WebhookState {
  url: string;
  secret: string | undefined;
  maxConnections: number;
  allowedUpdates: string[];
  hasCustomCertificate: boolean;
  lastErrorDate?: number;
  lastErrorMessage?: string;
}

type Params = Record<string, unknown>;
type Update = { update_id: number } & Record<string, unknown>;

const BOT_INFO = {
  id: 7_000_000_001,
  is_bot: true,
  first_name: "timbre sandbox",
  username: "timbre_sandbox_bot",
  can_join_groups: true,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
};

class ApiError extends Error {
  constructor(
    readonly code: number,
    description: string,
    readonly parameters?: Record<string, unknown>,
  ) {
    super(description);
  }
}

/** A small seeded generator so fault injection is repeatable. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4_294_967_296;
  };
}

function chatOf(update: Update): number {
  for (const value of Object.values(update)) {
    if (typeof value !== "object" || value === null) continue;
    const body = value as Record<string, { id?: number } | undefined>;
    const id = body.chat?.id ?? (body.message as { chat?: { id?: number } } | undefined)?.chat?.id ?? body.from?.id;
    if (typeof id === "number") return id;
  }
  return 0;
}

export class BotApiEmulator {
  readonly token: string;
  readonly calls: RecordedCall[] = [];
  readonly messages: BotMessage[] = [];
  /** Texts users wrote through sendText, in order (the sandbox page's history). */
  readonly userMessages: UserMessage[] = [];
  faults: Faults = { rate429: 0, retryAfter: 1, rate5xx: 0, down: false, delayMs: 0, blockedChats: new Set(), methods: [] };
  /** Base of the backoff between webhook delivery attempts (Telegram waits seconds; tests may shorten it). */
  webhookRetryBaseMs = 1000;
  /** Calls being answered right now, and the most ever answered at once, by method (checks SEND_CONCURRENCY). */
  readonly inFlightCalls = new Map<string, number>();
  readonly peakInFlight = new Map<string, number>();

  private random: () => number;
  private nextUpdateId = 100_000;
  private readonly messageIds = new Map<number, number>();
  private webhook: WebhookState | undefined;
  /** Updates not yet confirmed (getUpdates) or delivered (webhook), in update_id order. */
  private queue: Update[] = [];
  private readonly inFlight = new Set<number>();
  private readonly chatsInFlight = new Set<number>();
  private pollWaiters: (() => void)[] = [];
  private activePoll: { kick: () => void } | undefined;
  private readonly listeners = new Set<(event: EmulatorEvent) => void>();
  private deliveryTimer: ReturnType<typeof setTimeout> | undefined;
  private server: ReturnType<typeof Bun.serve> | undefined;
  private stopped = false;

  constructor(options: { token?: string; seed?: number } = {}) {
    this.token = options.token ?? "123456:SANDBOX-emulated-token";
    this.random = seededRandom(options.seed ?? 42);
  }

  /** Serves the Bot API on 127.0.0.1 at a free port; returns the API root (use as TELEGRAM_API_URL). */
  listen(): string {
    this.server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => this.fetch(req) });
    return `http://127.0.0.1:${this.server.port}`;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.deliveryTimer);
    this.activePoll?.kick();
    for (const wake of this.pollWaiters) wake();
    this.server?.stop(true);
  }

  seed(seed: number): void {
    this.random = seededRandom(seed);
  }

  /** Handles `/bot<token>/<method>` (with any prefix before `/bot`). */
  async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    const match = /\/bot([^/]+)\/([A-Za-z]+)$/.exec(path);
    if (!match) return Response.json({ ok: false, error_code: 404, description: "Not Found" }, { status: 404 });
    const [, token, method] = match as unknown as [string, string, string];
    let params: Params = {};
    try {
      params = await readParams(request);
    } catch {
      return this.answer(method!, {}, new ApiError(400, "Bad Request: can't parse request body"));
    }
    if (token !== this.token) return this.answer(method, params, new ApiError(401, "Unauthorized"));
    const inFlight = (this.inFlightCalls.get(method) ?? 0) + 1;
    this.inFlightCalls.set(method, inFlight);
    this.peakInFlight.set(method, Math.max(this.peakInFlight.get(method) ?? 0, inFlight));
    try {
      if (this.faults.delayMs > 0) await Bun.sleep(this.faults.delayMs);
      this.injectFaults(method, params);
      return this.answer(method, params, await this.call(method, params));
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError(500, `Internal Server Error: ${String(error)}`);
      return this.answer(method, params, apiError);
    } finally {
      this.inFlightCalls.set(method, this.inFlightCalls.get(method)! - 1);
    }
  }

  private answer(method: string, params: Params, result: unknown): Response {
    if (result instanceof ApiError) {
      this.calls.push({ method, params, at: Date.now(), status: result.code });
      const body: Record<string, unknown> = { ok: false, error_code: result.code, description: result.message };
      if (result.parameters) body.parameters = result.parameters;
      return Response.json(body, { status: result.code });
    }
    this.calls.push({ method, params, at: Date.now(), status: 200 });
    return Response.json({ ok: true, result });
  }

  private injectFaults(method: string, params: Params): void {
    const applies = this.faults.methods.length === 0 || this.faults.methods.includes(method);
    if (!applies) return;
    if (this.faults.down) throw new ApiError(502, "Bad Gateway");
    const chatId = Number(params.chat_id);
    if (this.faults.blockedChats.has(chatId)) throw new ApiError(403, "Forbidden: bot was blocked by the user");
    const roll = this.random();
    if (roll < this.faults.rate429) {
      const retryAfter = this.faults.retryAfter;
      throw new ApiError(429, `Too Many Requests: retry after ${retryAfter}`, { retry_after: retryAfter });
    }
    if (roll < this.faults.rate429 + this.faults.rate5xx) throw new ApiError(502, "Bad Gateway");
  }

  private async call(method: string, params: Params): Promise<unknown> {
    switch (method) {
      case "getMe":
        return BOT_INFO;
      case "sendMessage":
        return this.sendMessage(params);
      case "editMessageText":
        return this.editMessageText(params);
      case "sendChatAction":
        this.emit({ type: "chat_action", chat_id: requireChat(params), action: String(params.action ?? "typing") });
        return true;
      case "setWebhook":
        return this.setWebhook(params);
      case "deleteWebhook":
        this.webhook = undefined;
        if (isTrue(params.drop_pending_updates)) this.queue = [];
        this.wakePollers();
        return true;
      case "getWebhookInfo":
        return this.webhookInfo();
      case "getUpdates":
        return this.getUpdates(params);
      default:
        throw new ApiError(404, "Not Found: method not found");
    }
  }

  private nextMessageId(chatId: number): number {
    const id = (this.messageIds.get(chatId) ?? 0) + 1;
    this.messageIds.set(chatId, id);
    return id;
  }

  private sendMessage(params: Params) {
    const chatId = requireChat(params);
    const text = typeof params.text === "string" ? params.text : "";
    if (text.trim() === "") throw new ApiError(400, "Bad Request: message text is empty");
    if (text.length > 4096) throw new ApiError(400, "Bad Request: message is too long");
    const message: BotMessage = { chat_id: chatId, message_id: this.nextMessageId(chatId), text, date: Math.floor(Date.now() / 1000), params };
    this.messages.push(message);
    this.emit({ type: "bot_message", chat_id: chatId, message });
    return {
      message_id: message.message_id,
      from: BOT_INFO,
      chat: { id: chatId, type: chatId > 0 ? "private" : "supergroup" },
      date: message.date,
      text,
      ...(params.message_thread_id !== undefined ? { message_thread_id: params.message_thread_id } : {}),
    };
  }

  private editMessageText(params: Params) {
    const chatId = requireChat(params);
    const message = this.messages.find((m) => m.chat_id === chatId && m.message_id === Number(params.message_id));
    if (!message) throw new ApiError(400, "Bad Request: message to edit not found");
    if (typeof params.text !== "string" || params.text === "") throw new ApiError(400, "Bad Request: message text is empty");
    message.text = params.text;
    return { message_id: message.message_id, chat: { id: chatId, type: "private" }, date: message.date, text: message.text };
  }

  private setWebhook(params: Params) {
    const url = typeof params.url === "string" ? params.url : "";
    if (url === "") {
      this.webhook = undefined;
      return true;
    }
    if (!/^https?:\/\//.test(url)) throw new ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook");
    const secret = typeof params.secret_token === "string" ? params.secret_token : undefined;
    if (secret !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secret)) {
      throw new ApiError(400, "Bad Request: secret token contains unallowed characters");
    }
    const allowed = parseList(params.allowed_updates);
    this.webhook = {
      url,
      secret,
      maxConnections: Number(params.max_connections ?? 40),
      allowedUpdates: allowed ?? this.webhook?.allowedUpdates ?? [],
      hasCustomCertificate: params.certificate !== undefined,
    };
    if (isTrue(params.drop_pending_updates)) this.queue = [];
    this.activePoll?.kick();
    this.scheduleDelivery(0);
    return true;
  }

  private webhookInfo() {
    const hook = this.webhook;
    const info: Record<string, unknown> = {
      url: hook?.url ?? "",
      has_custom_certificate: hook?.hasCustomCertificate ?? false,
      pending_update_count: this.queue.length,
    };
    if (hook) {
      info.max_connections = hook.maxConnections;
      if (hook.allowedUpdates.length) info.allowed_updates = hook.allowedUpdates;
      if (hook.lastErrorDate) {
        info.last_error_date = hook.lastErrorDate;
        info.last_error_message = hook.lastErrorMessage;
      }
    }
    return info;
  }

  private async getUpdates(params: Params): Promise<Update[]> {
    if (this.webhook) {
      throw new ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
    }
    const offset = Number(params.offset ?? 0);
    if (offset > 0) this.queue = this.queue.filter((u) => u.update_id >= offset);
    const limit = Math.min(Math.max(Number(params.limit ?? 100), 1), 100);
    const timeoutMs = Math.min(Math.max(Number(params.timeout ?? 0), 0), 50) * 1000;

    // A newer getUpdates ends the older one with 409, as Telegram does.
    this.activePoll?.kick();
    let kicked = false;
    const poll: { kick: () => void } = {
      kick: () => {
        kicked = true;
      },
    };
    this.activePoll = poll;
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0 && Date.now() < deadline && !kicked && !this.stopped && !this.webhook) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        this.pollWaiters.push(wake);
        poll.kick = () => {
          kicked = true;
          wake();
        };
      });
    }
    if (this.activePoll === poll) this.activePoll = undefined;
    if (kicked) throw new ApiError(409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running");
    return this.queue.slice(0, limit);
  }

  private wakePollers(): void {
    const waiters = this.pollWaiters;
    this.pollWaiters = [];
    for (const wake of waiters) wake();
  }

  // ---- the user's side ----

  /** Queues an update as Telegram would (webhook delivery or getUpdates); assigns update_id when missing. */
  pushUpdate(update: Omit<Update, "update_id"> & { update_id?: number }): Update {
    const full = { update_id: update.update_id ?? this.nextUpdateId++, ...update } as Update;
    if (full.update_id >= this.nextUpdateId) this.nextUpdateId = full.update_id + 1;
    this.queue.push(full);
    this.queue.sort((a, b) => a.update_id - b.update_id);
    this.wakePollers();
    this.scheduleDelivery(0);
    return full;
  }

  /** A user writes a text message in a private chat with the bot (or in `chat` when given). */
  sendText(from: EmulatedUser, text: string, chat?: { id: number; type: string; title?: string }): Update {
    const chatInfo = chat ?? { id: from.id, type: "private", first_name: from.first_name };
    const message: Record<string, unknown> = {
      message_id: this.nextMessageId(chatInfo.id),
      from: { is_bot: false, ...from },
      chat: chatInfo,
      date: Math.floor(Date.now() / 1000),
      text,
    };
    if (text.startsWith("/")) message.entities = [{ type: "bot_command", offset: 0, length: text.split(/\s/)[0]!.length }];
    this.userMessages.push({ chat_id: chatInfo.id, message_id: message.message_id as number, text, date: message.date as number, from });
    this.emit({ type: "user_message", chat_id: chatInfo.id, message });
    return this.pushUpdate({ message });
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

  private emit(event: EmulatorEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  // ---- webhook delivery: per-chat order, up to max_connections at once, retries with backoff ----

  private scheduleDelivery(ms: number): void {
    if (!this.webhook || this.stopped) return;
    clearTimeout(this.deliveryTimer);
    this.deliveryTimer = setTimeout(() => this.deliver(), ms);
  }

  private deliver(): void {
    const hook = this.webhook;
    if (!hook || this.stopped) return;
    // A chat whose oldest update waits for a retry keeps its later updates waiting too.
    const waitingChats = new Set<number>();
    for (const update of this.queue) {
      if (this.inFlight.size >= hook.maxConnections) break;
      const chat = chatOf(update);
      if (this.inFlight.has(update.update_id) || this.chatsInFlight.has(chat) || waitingChats.has(chat)) continue;
      if (((update as { notBefore?: number }).notBefore ?? 0) > Date.now()) {
        waitingChats.add(chat);
        continue;
      }
      this.inFlight.add(update.update_id);
      this.chatsInFlight.add(chat);
      void this.post(hook, update).finally(() => {
        this.inFlight.delete(update.update_id);
        this.chatsInFlight.delete(chat);
        this.scheduleDelivery(0);
      });
    }
    const nextRetry = Math.min(...this.queue.map((u) => (u as { notBefore?: number }).notBefore ?? Infinity));
    if (Number.isFinite(nextRetry)) this.scheduleDelivery(Math.max(0, nextRetry - Date.now()));
  }

  private async post(hook: WebhookState, update: Update): Promise<void> {
    const attempts = ((update as { attempts?: number }).attempts ?? 0) + 1;
    const { attempts: _a, notBefore: _n, ...body } = update as Update & { attempts?: number; notBefore?: number };
    let error: string | undefined;
    try {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (hook.secret) headers["x-telegram-bot-api-secret-token"] = hook.secret;
      const response = await fetch(hook.url, { method: "POST", headers, body: JSON.stringify(body), tls: { rejectUnauthorized: false } });
      await response.arrayBuffer();
      if (!response.ok) error = `Wrong response from the webhook: ${response.status} ${response.statusText}`;
    } catch (cause) {
      error = `Connection refused: ${cause instanceof Error ? cause.message : String(cause)}`;
    }
    if (error === undefined) {
      this.queue = this.queue.filter((u) => u.update_id !== update.update_id);
      return;
    }
    hook.lastErrorDate = Math.floor(Date.now() / 1000);
    hook.lastErrorMessage = error;
    const backoff = Math.min(this.webhookRetryBaseMs * 2 ** (attempts - 1), 60_000);
    Object.assign(update, { attempts, notBefore: Date.now() + backoff });
  }
}

async function readParams(request: Request): Promise<Params> {
  const params: Params = Object.fromEntries(new URL(request.url).searchParams);
  if (request.method !== "POST") return params;
  const type = request.headers.get("content-type") ?? "";
  if (type.includes("multipart/form-data") || type.includes("application/x-www-form-urlencoded")) {
    const form = await request.formData();
    form.forEach((value, key) => {
      params[key] = typeof value === "string" ? value : "(file)";
    });
    return params;
  }
  const text = await request.text();
  if (text.trim() === "") return params;
  return { ...params, ...(JSON.parse(text) as Params) };
}

function requireChat(params: Params): number {
  const id = Number(params.chat_id);
  if (params.chat_id === undefined || !Number.isFinite(id)) throw new ApiError(400, "Bad Request: chat_id is empty");
  return id;
}

function isTrue(value: unknown): boolean {
  return value === true || value === "true";
}

function parseList(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === "string" && value.startsWith("[")) return JSON.parse(value) as string[];
  return undefined;
}

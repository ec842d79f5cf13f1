import { ApiError, parseList } from "./emulator-http.ts";
import type { Params, Update } from "./emulator-types.ts";
import { thrownMessage } from "../observability/log.ts";

export interface WebhookState {
  url: string;
  secret: string | undefined;
  maxConnections: number;
  allowedUpdates: string[];
  /** allowed_updates "doesn't affect updates created before the call": the last update_id queued then. */
  allowedAfter: number;
  hasCustomCertificate: boolean;
  lastErrorDate?: number;
  lastErrorMessage?: string;
}

/** What delivery needs of the emulator's update queue. */
export interface DeliveryQueue {
  /** Updates not yet delivered, in update_id order. */
  pending(): Update[];
  delivered(updateId: number): void;
  /** Base of the backoff between attempts (Telegram waits seconds; tests shorten it). */
  retryBaseMs(): number;
  /** How long one delivery may take: a webhook that never answers must not hold its chat's updates for good. */
  timeoutMs(): number;
}

/** Delivery bookkeeping of a queued update, kept beside it (getUpdates hands out the update itself). */
interface Retry {
  attempts: number;
  notBefore: number;
}

/** The update types Telegram sends when allowed_updates is empty (its default): all but these. */
const NOT_BY_DEFAULT = new Set(["chat_member", "message_reaction", "message_reaction_count"]);

/** Whether `update` is of a type `allowed` (setWebhook's or getUpdates' allowed_updates) asks for. */
export function isAllowed(update: Update, allowed: readonly string[]): boolean {
  const type = Object.keys(update).find((key) => key !== "update_id");
  if (type === undefined) return true;
  return allowed.length === 0 ? !NOT_BY_DEFAULT.has(type) : allowed.includes(type);
}

/** The lane an update is delivered in: its chat, as Telegram orders deliveries per chat. */
function laneOf(update: Update): number {
  for (const value of Object.values(update)) {
    if (typeof value !== "object" || value === null) continue;
    const body = value as Record<string, { id?: number } | undefined>;
    const id = body.chat?.id ?? (body.message as { chat?: { id?: number } } | undefined)?.chat?.id ?? body.from?.id;
    if (typeof id === "number") return id;
  }
  return 0;
}

/**
 * Telegram's webhook delivery: per-chat order, up to max_connections at once, the secret header,
 * and retries with backoff on any non-2xx answer or no answer in time (shown in getWebhookInfo's
 * last_error_message).
 */
export class WebhookDelivery {
  hook: WebhookState | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly inFlight = new Set<number>();
  private readonly lanesInFlight = new Set<number>();
  private readonly retries = new Map<number, Retry>();
  private stopped = false;

  constructor(private readonly queue: DeliveryQueue) {}

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** setWebhook's checks and settings, as Telegram applies them; an empty url removes the webhook. */
  configure(params: Params): void {
    const url = typeof params.url === "string" ? params.url : "";
    if (url === "") {
      this.hook = undefined;
      return;
    }
    if (!/^https?:\/\//.test(url)) throw new ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook");
    const secret = typeof params.secret_token === "string" ? params.secret_token : undefined;
    if (secret !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secret)) {
      throw new ApiError(400, "Bad Request: secret token contains unallowed characters");
    }
    const maxConnections = Number(params.max_connections ?? 40);
    if (!Number.isInteger(maxConnections) || maxConnections < 1 || maxConnections > 100) throw new ApiError(400, "Bad Request: max_connections must be between 1 and 100");
    const allowedUpdates = parseList(params.allowed_updates) ?? this.hook?.allowedUpdates ?? [];
    // A changed list applies to updates created from now on (the same list again changes nothing).
    const changed = allowedUpdates.join() !== (this.hook?.allowedUpdates ?? []).join();
    this.hook = {
      url,
      secret,
      maxConnections,
      allowedUpdates,
      allowedAfter: changed ? (this.queue.pending().at(-1)?.update_id ?? 0) : (this.hook?.allowedAfter ?? 0),
      hasCustomCertificate: params.certificate !== undefined,
    };
  }

  /** getWebhookInfo's answer. */
  info(pendingUpdateCount: number): Record<string, unknown> {
    const hook = this.hook;
    const info: Record<string, unknown> = { url: hook?.url ?? "", has_custom_certificate: hook?.hasCustomCertificate ?? false, pending_update_count: pendingUpdateCount };
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

  schedule(ms: number): void {
    if (!this.hook || this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.deliver(), ms);
  }

  private deliver(): void {
    const hook = this.hook;
    if (!hook || this.stopped) return;
    const pending = this.queue.pending();
    // A chat whose oldest update waits for a retry keeps its later updates waiting too.
    const waitingLanes = new Set<number>();
    for (const update of pending) {
      if (this.inFlight.size >= hook.maxConnections) break;
      const lane = laneOf(update);
      if (this.inFlight.has(update.update_id) || this.lanesInFlight.has(lane) || waitingLanes.has(lane)) continue;
      // An update of a type the webhook did not ask for is dropped, as Telegram never sends it.
      if (update.update_id > hook.allowedAfter && !isAllowed(update, hook.allowedUpdates)) {
        this.queue.delivered(update.update_id);
        continue;
      }
      if ((this.retries.get(update.update_id)?.notBefore ?? 0) > Date.now()) {
        waitingLanes.add(lane);
        continue;
      }
      this.inFlight.add(update.update_id);
      this.lanesInFlight.add(lane);
      void this.post(hook, update).finally(() => {
        this.inFlight.delete(update.update_id);
        this.lanesInFlight.delete(lane);
        this.schedule(0);
      });
    }
    const nextRetry = Math.min(...pending.map((u) => this.retries.get(u.update_id)?.notBefore ?? Infinity));
    if (Number.isFinite(nextRetry)) this.schedule(Math.max(0, nextRetry - Date.now()));
  }

  private async post(hook: WebhookState, update: Update): Promise<void> {
    const attempts = (this.retries.get(update.update_id)?.attempts ?? 0) + 1;
    let error: string | undefined;
    try {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (hook.secret) headers["x-telegram-bot-api-secret-token"] = hook.secret;
      // A redirect is not followed: Telegram takes any answer but a 2xx as a failed delivery.
      const signal = AbortSignal.timeout(this.queue.timeoutMs());
      const response = await fetch(hook.url, { method: "POST", headers, body: JSON.stringify(update), redirect: "manual", signal, tls: { rejectUnauthorized: false } });
      await response.arrayBuffer();
      if (response.status < 200 || response.status > 299) error = `Wrong response from the webhook: ${response.status} ${response.statusText}`;
    } catch (cause) {
      // Telegram's own words for both.
      error = cause instanceof DOMException && cause.name === "TimeoutError" ? "Read timeout expired" : `Connection refused: ${thrownMessage(cause)}`;
    }
    if (error === undefined) {
      this.retries.delete(update.update_id);
      this.queue.delivered(update.update_id);
      return;
    }
    hook.lastErrorDate = Math.floor(Date.now() / 1000);
    hook.lastErrorMessage = error;
    const backoff = Math.min(this.queue.retryBaseMs() * 2 ** (attempts - 1), 60_000);
    this.retries.set(update.update_id, { attempts, notBefore: Date.now() + backoff });
  }
}

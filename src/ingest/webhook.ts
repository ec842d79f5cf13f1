import { Elysia } from "elysia";
import { createHash, timingSafeEqual } from "node:crypto";
import type { Logger } from "../observability/log.ts";
import { errorFields } from "../observability/log.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Inbox } from "./inbox.ts";
import { MAX_UPDATE_DEPTH, nestsDeeperThan } from "./json-depth.ts";
import { asUpdate, describeUpdate } from "./update-shape.ts";

export const WEBHOOK_PATH = "/telegram/webhook";
export const MAX_WEBHOOK_BODY = 1024 * 1024;

export interface WebhookState {
  /** The secret Telegram must send in X-Telegram-Bot-Api-Secret-Token. */
  secret: string;
  mode: "webhook" | "polling";
  shuttingDown: () => boolean;
  /** Returns false when the request's source may not deliver webhooks (TRUSTED_IPS). */
  sourceAllowed?: (request: Request, peer: string | undefined) => boolean;
}

const OK_BODY = '{"ok":true}';
const JSON_HEADERS = { "content-type": "application/json" };

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

/** Compares in constant time (hashing first so lengths never leak either). */
export function secretsEqual(given: string | null | undefined, expected: string): boolean {
  return secretMatcher(expected)(given);
}

/** secretsEqual with the expected secret's digest computed once (the webhook checks every request). */
export function secretMatcher(expected: string): (given: string | null | undefined) => boolean {
  const expectedDigest = digest(expected);
  return (given) => timingSafeEqual(digest(given ?? ""), expectedDigest) && given !== null && given !== undefined;
}

export function jsonError(status: number, error: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ ok: false, error }), { status, headers: { ...JSON_HEADERS, ...headers } });
}

class BodyTooLarge extends Error {}

const UTF8 = new TextDecoder("utf-8");

/** Reads at most `limit` bytes; throws BodyTooLarge past it, without buffering the rest. */
async function readLimited(request: Request, limit: number): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null) {
    // With a Content-Length the body cannot be longer than declared.
    if (Number(declared) > limit) throw new BodyTooLarge();
    return request.text();
  }
  if (!request.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  // Decoded as request.text() decodes a body with a Content-Length: a leading BOM is dropped either way.
  return UTF8.decode(Buffer.concat(chunks));
}

/** What the webhook handler needs of Bun's server: the peer address, for TRUSTED_IPS. */
export interface PeerSource {
  requestIP(request: Request): { address: string } | null;
}

export type WebhookHandler = (request: Request, server?: PeerSource | null) => Promise<Response>;

/**
 * POST /telegram/webhook. Checks run in SPEC's order (secret 401, shutting down 503, polling
 * 409, size 413, JSON and shape 400); a refused request stores nothing. 200 comes only after
 * the update is committed (a duplicate update_id also gets 200 and is not processed again).
 * A plain handler: httpApp serves it as one of Bun.serve's own routes, outside Elysia's
 * request pipeline (the hottest route; Elysia cost 6 µs a request more there).
 */
export function webhookHandler(inbox: Pick<Inbox, "store">, state: WebhookState, log: Logger, metrics: Metrics): WebhookHandler {
  const refuse = (status: number, error: string, headers?: Record<string, string>) => {
    metrics.webhookRejected.inc({ status: String(status) });
    return jsonError(status, error, headers);
  };

  const secretMatches = secretMatcher(state.secret);

  return async (request, server) => {
    const started = performance.now();
    if (state.sourceAllowed && !state.sourceAllowed(request, server?.requestIP(request)?.address)) {
      return refuse(403, "this address may not deliver webhooks (TRUSTED_IPS is set and the source is outside the trusted ranges)");
    }
    if (!secretMatches(request.headers.get("x-telegram-bot-api-secret-token"))) {
      return refuse(401, "wrong or missing X-Telegram-Bot-Api-Secret-Token header: it must equal the webhook secret (WEBHOOK_SECRET or the one timbre generated)");
    }
    if (state.shuttingDown()) return refuse(503, "timbre is shutting down; Telegram will retry the update", { "retry-after": "5" });
    if (state.mode === "polling") {
      return refuse(409, "timbre runs in polling mode (BOT_MODE=polling) and takes updates with getUpdates; delete this webhook or set BOT_MODE=webhook");
    }
    let raw: string;
    try {
      raw = await readLimited(request, MAX_WEBHOOK_BODY);
    } catch (error) {
      if (error instanceof BodyTooLarge) return refuse(413, `body larger than ${MAX_WEBHOOK_BODY} bytes (1 MiB); Telegram updates are far smaller`);
      return refuse(400, "could not read the request body");
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return refuse(400, "body is not valid JSON; expected a Telegram Update object");
    }
    if (nestsDeeperThan(raw, MAX_UPDATE_DEPTH)) {
      return refuse(400, `body nests arrays/objects more than ${MAX_UPDATE_DEPTH} levels deep; Telegram updates never do`);
    }
    const update = asUpdate(parsed);
    if (!update) return refuse(400, "body is not a Telegram Update: expected a JSON object with an integer update_id from 0 to 2^53-1");
    try {
      const { duplicate } = await inbox.store({ update, raw });
      (duplicate ? metrics.updatesDuplicate : metrics.updatesReceived).inc();
    } catch (error) {
      log.error("webhook: could not store the update", { update_id: update.update_id, chat_id: describeUpdate(update).chatId, ...errorFields(error) });
      return refuse(503, "could not store the update (database unavailable); Telegram will retry it", { "retry-after": "5" });
    }
    metrics.webhookLatency.observe((performance.now() - started) / 1000);
    return new Response(OK_BODY, { headers: JSON_HEADERS });
  };
}

/** The same handler as an Elysia route (for `app.handle`, and the route table). */
export function webhookRoutes(handler: WebhookHandler) {
  return new Elysia({ name: "webhook" }).post(WEBHOOK_PATH, ({ request, server }) => handler(request, server), { parse: "none", detail: { hide: true } });
}

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { SetWebhookParams, TelegramWebhookInfo } from "@gramio/types";
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import { runAsync } from "../db/op.ts";
import type { SettingsStore } from "../db/settings.ts";
import type { Logger } from "../observability/log.ts";
import type { ApiOutcome, TelegramApi } from "./api.ts";
import { thrownMessage } from "../observability/log.ts";

/**
 * The webhook operations shared by start-up, the admin routes and the command line, so the
 * three ways of managing the webhook send exactly the same calls.
 */

export type WebhookInfo = TelegramWebhookInfo;

/** The path Telegram posts updates to (mirrors ingest/webhook.ts WEBHOOK_PATH; telegram/ must not import ingest/). */
export const WEBHOOK_ROUTE = "/telegram/webhook";

/**
 * Key of the sha256 of what timbre last sent with setWebhook that getWebhookInfo never shows:
 * the secret and the certificate's content (so a renewed certificate is uploaded again).
 */
const SENT_SECRET_KEY = "webhook_secret_sent_sha256";

export interface DesiredWebhook {
  url: string;
  secret: string;
  maxConnections: number;
  allowedUpdates: string[];
  /** PEM file uploaded with setWebhook (self-signed certificates). */
  certificatePath?: string;
  dropPendingUpdates?: boolean;
}

/** `{PUBLIC_URL}/telegram/webhook`, or undefined without PUBLIC_URL. */
export function webhookUrlFor(publicUrl: string | undefined): string | undefined {
  return publicUrl === undefined ? undefined : `${publicUrl.replace(/\/+$/, "")}${WEBHOOK_ROUTE}`;
}

/** The webhook the configuration asks for; `overrides` come from the admin API or the command line. */
export function desiredWebhook(
  config: Config,
  secret: string,
  overrides: { url?: string; maxConnections?: number; allowedUpdates?: string[]; dropPendingUpdates?: boolean } = {},
): DesiredWebhook | undefined {
  const url = overrides.url ?? webhookUrlFor(config.publicUrl);
  if (url === undefined) return undefined;
  return {
    url,
    secret,
    maxConnections: overrides.maxConnections ?? config.maxConnections,
    allowedUpdates: overrides.allowedUpdates ?? config.allowedUpdates,
    ...(config.tlsCertPath !== undefined ? { certificatePath: config.tlsCertPath } : {}),
    ...(overrides.dropPendingUpdates !== undefined ? { dropPendingUpdates: overrides.dropPendingUpdates } : {}),
  };
}

export function getWebhookInfo(api: TelegramApi): Promise<ApiOutcome<WebhookInfo>> {
  return api.call("getWebhookInfo", undefined);
}

/** setWebhook with the secret always sent; on success remembers which secret Telegram now has. */
export async function setWebhook(api: TelegramApi, settings: SettingsStore, desired: DesiredWebhook): Promise<ApiOutcome<true>> {
  const params: SetWebhookParams = {
    url: desired.url,
    secret_token: desired.secret,
    max_connections: desired.maxConnections,
    allowed_updates: desired.allowedUpdates as NonNullable<SetWebhookParams["allowed_updates"]>,
  };
  if (desired.dropPendingUpdates !== undefined) params.drop_pending_updates = desired.dropPendingUpdates;
  if (desired.certificatePath !== undefined) {
    try {
      // GramIO only for the upload: loading it costs the process about 28 MB of memory.
      const { MediaUpload } = await import("gramio");
      params.certificate = await MediaUpload.path(desired.certificatePath, "certificate.pem");
    } catch (error) {
      return { ok: false, code: 0, description: `could not read TLS_CERT_PATH ${desired.certificatePath}: ${thrownMessage(error)}` };
    }
  }
  const outcome = await api.call("setWebhook", params);
  if (outcome.ok) await runAsync(settings.set(SENT_SECRET_KEY, unseenFingerprint(desired)));
  return outcome;
}

export function deleteWebhook(api: TelegramApi, dropPendingUpdates: boolean): Promise<ApiOutcome<true>> {
  return api.call("deleteWebhook", { drop_pending_updates: dropPendingUpdates });
}

/** Why the webhook Telegram has differs from the desired one; empty when they are the same. */
export function webhookDifferences(info: WebhookInfo, desired: DesiredWebhook, sentSecretMatches: boolean): string[] {
  const out: string[] = [];
  if (info.url !== desired.url) out.push(info.url === "" ? "no webhook is set" : "the url differs");
  if (info.max_connections !== undefined && info.max_connections !== desired.maxConnections) out.push("max_connections differs");
  // Telegram omits allowed_updates when it is its default; treat that as different so ours is sent.
  const allowed = new Set(info.allowed_updates ?? []);
  if (allowed.size !== desired.allowedUpdates.length || !desired.allowedUpdates.every((u) => allowed.has(u as never))) out.push("allowed_updates differ");
  if (info.has_custom_certificate !== (desired.certificatePath !== undefined)) out.push("the custom certificate differs");
  if (!sentSecretMatches) out.push("the secret or the certificate may differ (they were not set by timbre as configured now)");
  return out;
}

export type EnsureResult = "unchanged" | "set" | "failed";

/**
 * Start-up in webhook mode: setWebhook unless Telegram already has the same url, settings and
 * (as far as timbre knows) secret. Logs the outcome with Telegram's last delivery error.
 */
export async function ensureWebhook(api: TelegramApi, settings: SettingsStore, desired: DesiredWebhook, log: Logger): Promise<{ result: EnsureResult; retryable: boolean }> {
  const info = await getWebhookInfo(api);
  if (!info.ok) {
    log.error(info.code === 401 ? "webhook: Telegram refused the bot token (401); check TELEGRAM_BOT_TOKEN" : "webhook: getWebhookInfo failed", {
      code: info.code,
      error: info.description,
    });
    return { result: "failed", retryable: info.code === 0 || info.code === 429 || info.code >= 500 };
  }
  const lastError = lastErrorFields(info.result);
  const differences = webhookDifferences(info.result, desired, (await runAsync(settings.get(SENT_SECRET_KEY))) === unseenFingerprint(desired));
  if (differences.length === 0) {
    const fields = { url: desired.url, pending_update_count: info.result.pending_update_count, ...lastError };
    if (lastError.last_error_message) log.warn("webhook: already set as configured (setWebhook skipped), but Telegram reports a delivery error", fields);
    else log.info("webhook: already set as configured (setWebhook skipped)", fields);
    return { result: "unchanged", retryable: false };
  }
  const set = await setWebhook(api, settings, desired);
  if (!set.ok) {
    log.error("webhook: setWebhook failed", { url: desired.url, code: set.code, error: set.description });
    return { result: "failed", retryable: set.code === 0 || set.code === 429 || set.code >= 500 };
  }
  log.info("webhook: set", {
    url: desired.url,
    reason: differences.join("; "),
    max_connections: desired.maxConnections,
    allowed_updates: desired.allowedUpdates,
    certificate: desired.certificatePath !== undefined,
    pending_update_count: info.result.pending_update_count,
    ...lastError,
  });
  return { result: "set", retryable: false };
}

/**
 * ensureWebhook at start-up, retried with capped backoff while Telegram is unreachable or
 * failing (a VPS may boot before its network); stops at once when `signal` aborts.
 */
export async function ensureWebhookOnStart(
  api: TelegramApi,
  settings: SettingsStore,
  desired: DesiredWebhook,
  log: Logger,
  clock: Clock,
  signal: AbortSignal,
  backoff: { baseMs: number; capMs: number } = { baseMs: 1000, capMs: 60_000 },
): Promise<EnsureResult> {
  for (let attempt = 1; ; attempt++) {
    const { result, retryable } = await ensureWebhook(api, settings, desired, log);
    if (result !== "failed" || !retryable || signal.aborted) return result;
    const delay = Math.min(backoff.capMs, backoff.baseMs * 2 ** Math.min(attempt - 1, 30));
    log.warn("webhook: will try setting the webhook again", { attempt, retry_in_ms: delay });
    await new Promise<void>((resolve) => {
      const timer = clock.setTimeout(resolve, delay);
      signal.addEventListener("abort", () => (timer.cancel(), resolve()), { once: true });
    });
    if (signal.aborted) return "failed";
  }
}

function lastErrorFields(info: WebhookInfo): { last_error_message?: string; last_error_date?: string } {
  if (!info.last_error_message) return {};
  return {
    last_error_message: info.last_error_message,
    ...(info.last_error_date ? { last_error_date: new Date(info.last_error_date * 1000).toISOString() } : {}),
  };
}

/** The secret and the certificate's bytes, hashed: what Telegram has but never shows. */
function unseenFingerprint(desired: DesiredWebhook): string {
  const hash = createHash("sha256").update(desired.secret);
  if (desired.certificatePath !== undefined) {
    try {
      hash.update("\0certificate\0").update(readFileSync(desired.certificatePath));
    } catch {
      hash.update("\0unreadable certificate");
    }
  }
  return hash.digest("hex");
}

import { Elysia, status } from "elysia";
import type { Config } from "../config.ts";
import { UPDATE_TYPES, unknownUpdateType } from "../ingest/update-types.ts";
import type { Logger } from "../observability/log.ts";
import { SANDBOX_OWNS_WEBHOOK } from "../sandbox/owns-webhook.ts";
import { deleteWebhook, desiredWebhook, getWebhookInfo, setWebhook } from "../telegram/webhook-control.ts";
import { SECURITY, telegramError, type NeedParts } from "./route-parts.ts";
import { BadRequest, errorBody, NoBody, NoQuery, Starting, TelegramFailed, Unauthorized } from "./schemas.ts";
import { DeleteWebhookQuery, OkAnswer, SetWebhookAnswer, SetWebhookBody, WebhookInfo } from "./webhook-schemas.ts";

const SandboxOwnsWebhook = errorBody("Sandbox mode (no TELEGRAM_BOT_TOKEN): the sandbox owns its webhook.", SANDBOX_OWNS_WEBHOOK);

/** GET/PUT/DELETE /admin/webhook: Telegram's webhook, managed (mounted by adminRoutes, behind its token check). */
export function webhookAdminRoutes(config: Config, log: Logger, need: NeedParts) {
  return new Elysia({ name: "admin-webhook" })
    .get(
      "/webhook",
      async () => {
        if (config.sandbox) return status(409, { ok: false as const, error: SANDBOX_OWNS_WEBHOOK });
        const info = await getWebhookInfo(need().api);
        if (!info.ok) return status(502, { ok: false as const, error: telegramError("getWebhookInfo", info) });
        return info.result;
      },
      {
        query: NoQuery,
        response: { 200: WebhookInfo, 400: BadRequest, 401: Unauthorized, 409: SandboxOwnsWebhook, 502: TelegramFailed, 503: Starting },
        detail: {
          tags: ["webhook"],
          summary: "Show the webhook Telegram has",
          description: "Calls getWebhookInfo and answers Telegram's WebhookInfo object as is: url (empty when none), pending_update_count, last_error_message, max_connections, allowed_updates. In sandbox mode the answer is 409, as for PUT and DELETE: the sandbox owns its webhook (always this server's /telegram/webhook).",
          security: SECURITY,
        },
      },
    )
    .put(
      "/webhook",
      async ({ body }) => {
        if (config.sandbox) return status(409, { ok: false as const, error: SANDBOX_OWNS_WEBHOOK });
        const parts = need();
        const unknownType = body?.allowed_updates !== undefined ? unknownUpdateType(body.allowed_updates) : undefined;
        if (unknownType !== undefined) {
          return status(400, { ok: false as const, error: `allowed_updates: ${JSON.stringify(unknownType)} is not a Bot API update type; expected some of ${UPDATE_TYPES.join(", ")}` });
        }
        const desired = desiredWebhook(config, parts.secret, {
          ...(body?.url !== undefined ? { url: body.url } : {}),
          ...(body?.max_connections !== undefined ? { maxConnections: body.max_connections } : {}),
          ...(body?.allowed_updates !== undefined ? { allowedUpdates: body.allowed_updates } : {}),
          ...(body?.drop_pending_updates !== undefined ? { dropPendingUpdates: body.drop_pending_updates } : {}),
        });
        if (!desired) return status(400, { ok: false as const, error: "no webhook url: send {\"url\": \"https://...\"} or set PUBLIC_URL (then {PUBLIC_URL}/telegram/webhook is used)" });
        const outcome = await setWebhook(parts.api, parts.settings, desired);
        if (!outcome.ok) return status(502, { ok: false as const, error: telegramError("setWebhook", outcome) });
        log.info("admin: webhook set", { url: desired.url, max_connections: desired.maxConnections, allowed_updates: desired.allowedUpdates, drop_pending_updates: desired.dropPendingUpdates ?? false });
        return {
          ok: true as const,
          url: desired.url,
          max_connections: desired.maxConnections,
          allowed_updates: desired.allowedUpdates,
          certificate: desired.certificatePath !== undefined,
        };
      },
      {
        query: NoQuery,
        body: SetWebhookBody,
        response: { 200: SetWebhookAnswer, 400: BadRequest, 401: Unauthorized, 409: SandboxOwnsWebhook, 502: TelegramFailed, 503: Starting },
        detail: {
          tags: ["webhook"],
          summary: "Set the webhook",
          description:
            "Calls setWebhook. Without `url`, {PUBLIC_URL}/telegram/webhook is used; without either the answer is 400. The stored webhook secret is always sent, max_connections and allowed_updates default to MAX_CONNECTIONS and ALLOWED_UPDATES (an allowed_updates entry that is not a current Bot API update type is a 400), and TLS_CERT_PATH is uploaded when set. timbre does not second-guess the URL: when Telegram refuses it, the answer is 502 with Telegram's description. In sandbox mode the answer is 409: the sandbox owns its webhook.",
          security: SECURITY,
        },
      },
    )
    .delete(
      "/webhook",
      async ({ query }) => {
        if (config.sandbox) return status(409, { ok: false as const, error: SANDBOX_OWNS_WEBHOOK });
        const outcome = await deleteWebhook(need().api, query.drop_pending_updates ?? false);
        if (!outcome.ok) return status(502, { ok: false as const, error: telegramError("deleteWebhook", outcome) });
        log.info("admin: webhook deleted", { drop_pending_updates: query.drop_pending_updates ?? false });
        return { ok: true as const };
      },
      {
        query: DeleteWebhookQuery,
        body: NoBody,
        response: { 200: OkAnswer, 400: BadRequest, 401: Unauthorized, 409: SandboxOwnsWebhook, 502: TelegramFailed, 503: Starting },
        detail: {
          tags: ["webhook"],
          summary: "Delete the webhook",
          description:
            "Calls deleteWebhook. Pending updates are kept unless drop_pending_updates=true. While timbre runs in webhook mode nothing arrives until a webhook is set again (or BOT_MODE=polling). In sandbox mode the answer is 409: the sandbox owns its webhook.",
          security: SECURITY,
        },
      },
    );
}

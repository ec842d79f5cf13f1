import { t } from "elysia";

/** TypeBox schemas of /admin/webhook (webhook-routes.ts). */

export const WebhookInfo = t.Object(
  {
    url: t.String({ description: "Webhook URL; empty when none is set (polling or nothing)." }),
    has_custom_certificate: t.Boolean(),
    pending_update_count: t.Integer({ description: "Updates Telegram holds, not yet delivered." }),
    ip_address: t.Optional(t.String()),
    last_error_date: t.Optional(t.Integer({ description: "Unix time of the last delivery error." })),
    last_error_message: t.Optional(t.String({ description: "Why Telegram's last delivery failed." })),
    last_synchronization_error_date: t.Optional(t.Integer()),
    max_connections: t.Optional(t.Integer()),
    allowed_updates: t.Optional(t.Array(t.String())),
  },
  {
    additionalProperties: true,
    description: "Telegram's WebhookInfo object, exactly as getWebhookInfo answers it.",
    example: {
      url: "https://bot.example.com/telegram/webhook",
      has_custom_certificate: false,
      pending_update_count: 0,
      max_connections: 40,
      allowed_updates: ["message", "edited_message", "callback_query", "my_chat_member"],
    },
  },
);

export const SetWebhookBody = t.Optional(
  t.Object(
    {
      url: t.Optional(t.String({ minLength: 1, description: "Webhook URL; default {PUBLIC_URL}/telegram/webhook.", error: "url must be a non-empty string" })),
      drop_pending_updates: t.Optional(t.Boolean({ description: "Drop the updates Telegram holds.", error: "drop_pending_updates must be true or false" })),
      max_connections: t.Optional(t.Integer({ minimum: 1, maximum: 100, description: "Default MAX_CONNECTIONS.", error: "max_connections must be a whole number from 1 to 100" })),
      allowed_updates: t.Optional(
        t.Array(t.String(), { description: "Update types to receive; default ALLOWED_UPDATES.", error: "allowed_updates must be an array of update type names" }),
      ),
    },
    // A misspelt field (`drop_pending`) is a 400 naming it, never dropped silently.
    { additionalProperties: false, example: { url: "https://bot.example.com/telegram/webhook", drop_pending_updates: false, max_connections: 40 } },
  ),
);

export const SetWebhookAnswer = t.Object(
  {
    ok: t.Literal(true),
    url: t.String(),
    max_connections: t.Integer(),
    allowed_updates: t.Array(t.String()),
    certificate: t.Boolean({ description: "Whether TLS_CERT_PATH was uploaded as the webhook's certificate." }),
  },
  {
    description: "Telegram accepted setWebhook (the stored secret was sent with it).",
    example: { ok: true, url: "https://bot.example.com/telegram/webhook", max_connections: 40, allowed_updates: ["message"], certificate: false },
  },
);

export const DeleteWebhookQuery = t.Object({
  drop_pending_updates: t.Optional(t.Boolean({ description: "Also drop the updates Telegram holds.", error: "drop_pending_updates must be true or false" })),
});

export const OkAnswer = t.Object({ ok: t.Literal(true) }, { description: "Done.", example: { ok: true } });

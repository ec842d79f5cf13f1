/** Why the admin API and `timbre webhook` refuse to change the webhook in sandbox mode. */
export const SANDBOX_OWNS_WEBHOOK =
  "the sandbox owns its webhook: timbre points its built-in Telegram emulator at itself, and changing that would leave the sandbox deaf; set TELEGRAM_BOT_TOKEN to manage a real bot's webhook";

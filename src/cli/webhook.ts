import type { Config } from "../config.ts";
import { openDatabase } from "../db/index.ts";
import { openPostgres } from "../db/pg/index.ts";
import { PgSession } from "../db/pg/session.ts";
import { resolveWebhookSecret } from "../ingest/webhook-secret.ts";
import { pgSettings, sqliteSettings, type SettingsStore } from "../db/settings.ts";
import { SANDBOX_OWNS_WEBHOOK } from "../sandbox/owns-webhook.ts";
import { TelegramApi } from "../telegram/api.ts";
import { deleteWebhook, desiredWebhook, getWebhookInfo, setWebhook } from "../telegram/webhook-control.ts";
import { failureText } from "../telegram/bot-api-answer.ts";

/** `timbre webhook info | set [--url U] [--drop-pending] | delete [--drop-pending]`. */

export const WEBHOOK_USAGE = `Usage:
  timbre webhook info                              show Telegram's getWebhookInfo (JSON)
  timbre webhook set [--url URL] [--drop-pending]  setWebhook (default URL: {PUBLIC_URL}/telegram/webhook)
  timbre webhook delete [--drop-pending]           deleteWebhook (pending updates kept unless --drop-pending)
They use the same environment as the server (TELEGRAM_BOT_TOKEN, TELEGRAM_API_URL, PUBLIC_URL,
WEBHOOK_SECRET or the secret stored in DATABASE_PATH, MAX_CONNECTIONS, ALLOWED_UPDATES, TLS_CERT_PATH).
`;

/** Exit codes: 0 done, 1 Telegram (or the database) failed, 2 wrong usage. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export interface CliOutput {
  out(text: string): void;
  err(text: string): void;
}

export type WebhookCommand = { action: "help" } | { action: "info" } | { action: "set"; url?: string; dropPending: boolean } | { action: "delete"; dropPending: boolean };

/** Parses the words after `webhook`; a string is the one-line usage error. */
export function parseWebhookArgs(args: string[]): WebhookCommand | string {
  const [action, ...rest] = args;
  if (action === undefined) return "missing subcommand: expected info, set or delete";
  if (action === "--help" || action === "-h" || action === "help") return { action: "help" };
  if (action !== "info" && action !== "set" && action !== "delete") return `unknown subcommand ${JSON.stringify(action)}: expected info, set or delete`;
  let url: string | undefined;
  let dropPending = false;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === "--help" || arg === "-h") return { action: "help" };
    if (arg === "--drop-pending" && action !== "info") {
      dropPending = true;
    } else if (action === "set" && (arg === "--url" || arg.startsWith("--url="))) {
      const value = arg === "--url" ? rest[++i] : arg.slice("--url=".length);
      if (value === undefined || value === "" || value.startsWith("--")) return "--url needs a value, e.g. --url https://bot.example.com/telegram/webhook";
      url = value;
    } else {
      return `unknown flag ${JSON.stringify(arg)} for "webhook ${action}"`;
    }
  }
  if (action === "info") return { action };
  if (action === "delete") return { action, dropPending };
  return { action, dropPending, ...(url !== undefined ? { url } : {}) };
}


/** Runs a parsed webhook command against Telegram; returns the exit code. */
export async function runWebhookCommand(command: Exclude<WebhookCommand, { action: "help" }>, config: Config, io: CliOutput): Promise<number> {
  const name = `timbre webhook ${command.action}`;
  if (config.sandbox || config.botToken === undefined) {
    // No token is an environment matter (exit 1), as a bad variable is.
    const why =
      command.action === "info"
        ? "the sandbox's emulator lives inside the running timbre, and its webhook is always that server's /telegram/webhook (GET /admin/webhook answers 409 there, as PUT and DELETE do); set TELEGRAM_BOT_TOKEN to see a real bot's webhook"
        : SANDBOX_OWNS_WEBHOOK;
    return fail(io, name, `TELEGRAM_BOT_TOKEN is not set, so this is the sandbox: ${why}`);
  }
  const api = new TelegramApi({ apiUrl: config.apiUrl, token: config.botToken });

  if (command.action === "info") {
    const info = await getWebhookInfo(api);
    if (!info.ok) return fail(io, name, failureText("getWebhookInfo", info));
    io.out(JSON.stringify(info.result, null, 2) + "\n");
    return EXIT_OK;
  }

  if (command.action === "delete") {
    const outcome = await deleteWebhook(api, command.dropPending);
    if (!outcome.ok) return fail(io, name, failureText("deleteWebhook", outcome));
    io.out(`webhook deleted${command.dropPending ? " (pending updates dropped)" : " (pending updates kept)"}\n`);
    return EXIT_OK;
  }

  if (command.url === undefined && config.publicUrl === undefined) {
    io.err(`${name}: no webhook URL: pass --url https://... or set PUBLIC_URL\n`);
    return EXIT_USAGE;
  }
  // The secret may live only in the database (generated on the first start): the same one the server checks.
  const database = await openSettings(config);
  try {
    const { settings } = database;
    const secret = await resolveWebhookSecret(settings, config.webhookSecret);
    const desired = desiredWebhook(config, secret, { ...(command.url !== undefined ? { url: command.url } : {}), dropPendingUpdates: command.dropPending })!;
    const outcome = await setWebhook(api, settings, desired);
    if (!outcome.ok) return fail(io, name, failureText("setWebhook", outcome));
    io.out(
      `webhook set: ${desired.url} (max_connections ${desired.maxConnections}, allowed_updates ${desired.allowedUpdates.join(",")}` +
        `${desired.certificatePath ? ", certificate uploaded" : ""}${command.dropPending ? ", pending updates dropped" : ""})\n`,
    );
    return EXIT_OK;
  } finally {
    await database.close();
  }
}

/** The settings the server keeps (the webhook secret among them): in PostgreSQL with DATABASE_URL, else in DATABASE_PATH. */
async function openSettings(config: Config): Promise<{ settings: SettingsStore; close(): Promise<void> | void }> {
  if (config.databaseUrl !== undefined) {
    const pg = await openPostgres(config.databaseUrl, { max: 1 });
    return { settings: pgSettings(new PgSession(pg.sql)), close: () => pg.close() };
  }
  const database = openDatabase(config.databasePath);
  return { settings: sqliteSettings(database.db), close: () => database.close() };
}

function fail(io: CliOutput, name: string, message: string): number {
  io.err(`${name}: ${message}\n`);
  return EXIT_FAILED;
}

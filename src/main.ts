import { startService } from "./app.ts";
import { EXIT_USAGE, parseWebhookArgs, runWebhookCommand, WEBHOOK_USAGE } from "./cli/webhook.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { DatabaseError } from "./db/index.ts";
import { BackupError, backupFile } from "./db/backup.ts";
import { InstanceLockError } from "./db/instance-lock.ts";
import { ListenError } from "./listen-error.ts";
import { versionLine } from "./build-info.ts";
import pkg from "../package.json";

const HELP = `timbre ${pkg.version}: a durable Telegram bot runtime for slow agents

Usage:
  timbre                 serve (webhook or polling; sandbox when TELEGRAM_BOT_TOKEN is unset)
  timbre webhook info    show the webhook Telegram has (getWebhookInfo, JSON)
  timbre webhook set [--url URL] [--drop-pending]
                         setWebhook to URL (default {PUBLIC_URL}/telegram/webhook) with the secret
  timbre webhook delete [--drop-pending]
                         deleteWebhook (pending updates kept unless --drop-pending)
  timbre backup PATH     write an online backup of DATABASE_PATH to the new file PATH (VACUUM INTO;
                         safe while timbre runs; never replaces a file)
  timbre --help          this help
  timbre --version       the version and the git commit it was built from

Exit codes: 0 done; 1 a bad environment value, the database or Telegram failed; 2 wrong usage.

Environment (see README.md for details):
  TELEGRAM_BOT_TOKEN     bot token; unset: sandbox mode with a built-in Telegram emulator
  TELEGRAM_API_URL       Bot API root (default https://api.telegram.org)
  BOT_MODE               webhook (default) or polling
  PUBLIC_URL             public https base URL; setWebhook to {PUBLIC_URL}/telegram/webhook on start
  WEBHOOK_SECRET         1-256 chars of A-Z a-z 0-9 _ -; default: generated once, kept in the database
  HOST / PORT            listen address (default 0.0.0.0 / 8080; the sandbox: 127.0.0.1)
  DATABASE_PATH          SQLite file (default ./data/timbre.db); one running timbre per file
  ADMIN_TOKEN            bearer token for /admin/*
  AGENT                  coach (default) or echo
  MAX_CONCURRENCY        agent runs in flight at once (default 32)
  ASK_TIMEOUT_SECONDS    how long a question waits for its answer (default 86400)
  SEND_RATE_GLOBAL       outbox messages per second overall (default 30)
  SEND_RATE_PER_CHAT     outbox messages per second per chat (default 1)
  SEND_CONCURRENCY       Bot API sends in flight at once (default 8)
  SEND_MAX_ATTEMPTS      attempts before a message fails on 5xx/network errors (default 10)
  TLS_CERT_PATH / TLS_KEY_PATH   serve HTTPS directly
  ALLOWED_UPDATES        update types asked of Telegram (default message,edited_message,callback_query,my_chat_member)
  MAX_CONNECTIONS        setWebhook max_connections, 1-100 (default 40)
  TRUSTED_IPS            off (default), on (Telegram's ranges) or a list of CIDR ranges
  TRUST_PROXY            trust X-Forwarded-For (only behind a proxy you run; default off)
  LOG_LEVEL              debug, info (default), warn, error
`;

async function serve(): Promise<void> {
  const config = loadConfig();
  const service = await startService(config);
  let exiting = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (exiting) {
      // A second Ctrl-C: whoever sent it does not want to wait. Stored work is redone on the next start.
      process.stderr.write(`timbre: ${signal} again: exiting at once; work in flight is redone on the next start\n`);
      process.exit(1);
    }
    exiting = true;
    // SPEC: exit within 10 s. stop() keeps its waits under that; this only catches a hang.
    const force = setTimeout(() => {
      process.stderr.write("timbre: shutdown took longer than 10 s; exiting without closing the database (its WAL is replayed on the next start)\n");
      process.exit(1);
    }, 10_000);
    try {
      await service.stop();
    } catch (error) {
      process.stderr.write(`timbre: shutdown failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    }
    clearTimeout(force);
    process.exit(0);
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

async function main(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  if (command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(HELP);
    return 0;
  }
  if (command === "--version" || command === "-v") {
    process.stdout.write(`${versionLine()}\n`);
    return 0;
  }
  if (command === "backup") {
    const usage = "usage: timbre backup PATH   (PATH: a new file; DATABASE_PATH says which database)\n";
    if (rest.length === 1 && (rest[0] === "--help" || rest[0] === "-h")) {
      process.stdout.write(usage);
      return 0;
    }
    if (rest.length !== 1 || rest[0]!.startsWith("-")) {
      process.stderr.write(`timbre backup: expected one PATH; ${usage}`);
      return 2;
    }
    const done = backupFile(loadConfig().databasePath, rest[0]!);
    process.stdout.write(`${JSON.stringify({ ok: true, path: done.path, bytes: done.bytes, ms: done.ms })}\n`);
    return 0;
  }
  if (command === "webhook") {
    const parsed = parseWebhookArgs(rest);
    if (typeof parsed === "string") {
      process.stderr.write(`timbre webhook: ${parsed}; see timbre webhook --help\n`);
      return EXIT_USAGE;
    }
    if (parsed.action === "help") {
      process.stdout.write(WEBHOOK_USAGE);
      return 0;
    }
    return runWebhookCommand(parsed, loadConfig(), { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) });
  }
  if (command !== undefined) {
    process.stderr.write(`timbre: unknown command or flag ${JSON.stringify(command)}${rest.length ? " " + rest.join(" ") : ""}; see timbre --help\n`);
    return 2;
  }
  await serve();
  return undefined;
}

try {
  const code = await main(process.argv.slice(2));
  if (code !== undefined) process.exit(code);
} catch (error) {
  const startErrors = [ConfigError, DatabaseError, BackupError, InstanceLockError, ListenError];
  if (startErrors.some((kind) => error instanceof kind)) {
    process.stderr.write(`timbre: ${(error as Error).message}\n`);
    process.exit(1);
  }
  throw error;
}

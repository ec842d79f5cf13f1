import { startService } from "./app.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { DatabaseError } from "./db/index.ts";
import pkg from "../package.json";

const HELP = `timbre ${pkg.version}: a durable Telegram bot runtime for slow agents

Usage:
  timbre                 serve (webhook or polling; sandbox when TELEGRAM_BOT_TOKEN is unset)
  timbre --help          this help
  timbre --version       the version

Environment (see README.md for details):
  TELEGRAM_BOT_TOKEN     bot token; unset: sandbox mode with a built-in Telegram emulator
  TELEGRAM_API_URL       Bot API root (default https://api.telegram.org)
  BOT_MODE               webhook (default) or polling
  PUBLIC_URL             public https base URL; setWebhook to {PUBLIC_URL}/telegram/webhook on start
  WEBHOOK_SECRET         1-256 chars of A-Z a-z 0-9 _ -; default: generated once, kept in the database
  HOST / PORT            listen address (default 0.0.0.0 / 8080)
  DATABASE_PATH          SQLite file (default ./data/timbre.db)
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
  const shutdown = async () => {
    if (exiting) return;
    exiting = true;
    const force = setTimeout(() => process.exit(1), 12_000);
    await service.stop();
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
    process.stdout.write(`timbre ${pkg.version}\n`);
    return 0;
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
  if (error instanceof ConfigError || error instanceof DatabaseError) {
    process.stderr.write(`timbre: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}

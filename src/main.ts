import { startService } from "./app.ts";
import { startPgService } from "./pg-app.ts";
import { HEALTHCHECK_USAGE, runHealthcheck } from "./cli/healthcheck.ts";
import { EXIT_USAGE, parseWebhookArgs, runWebhookCommand, WEBHOOK_USAGE } from "./cli/webhook.ts";
import { agentTypes } from "./cli/agent-types.generated.ts";
import { REPLAY_CHECK_USAGE, runReplayCheck } from "./cli/replay-check.ts";
import { migrateToPostgresCommand } from "./cli/migrate-to-postgres.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { DatabaseError } from "./db/index.ts";
import { BackupError, backupFile } from "./db/backup.ts";
import { errorFields, thrownMessage } from "./observability/log.ts";
import { InstanceLockError } from "./db/instance-lock.ts";
import { ListenError } from "./listen-error.ts";
import { versionLine } from "./build-info.ts";
import pkg from "../package.json";

const HELP = `timbre ${pkg.version}: a durable Telegram bot runtime for slow agents

Usage:
  timbre                 serve (webhook or polling; sandbox when TELEGRAM_BOT_TOKEN is unset)
  timbre ./bot.ts        serve with the agent module ./bot.ts (the same as AGENT=./bot.ts)
  timbre replay-check [./bot.ts]
                         check that every running or waiting run replays against AGENT (or the
                         module given): one line per run that would not, exit 1 if any; read-only
  timbre types           print the agent API's TypeScript declarations (import ... from "timbre"):
                         timbre types > timbre.d.ts, beside your bot.ts
  timbre webhook info    show the webhook Telegram has (getWebhookInfo, JSON)
  timbre webhook set [--url URL] [--drop-pending]
                         setWebhook to URL (default {PUBLIC_URL}/telegram/webhook) with the secret
  timbre webhook delete [--drop-pending]
                         deleteWebhook (pending updates kept unless --drop-pending)
  timbre backup PATH     write an online backup of DATABASE_PATH to the new file PATH (VACUUM INTO;
                         safe while timbre runs; never replaces a file)
  timbre migrate-to-postgres
                         copy every table of DATABASE_PATH into the empty PostgreSQL database at
                         DATABASE_URL, in one transaction; stop the timbre serving DATABASE_PATH first
  timbre healthcheck     GET /healthz of the running server (HOST, PORT, TLS_CERT_PATH); exit 0 on 200,
                         else 1 (the container image's HEALTHCHECK: it has no curl)
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
  DATABASE_URL           postgres://user:password@host:5432/database (the target of migrate-to-postgres)
  ADMIN_TOKEN            bearer token for /admin/*
  AGENT                  coach (default), echo, llm, or the path of an agent module (./bot.ts, /srv/bot/index.js)
  LLM_BASE_URL           AGENT=llm: OpenAI-compatible API root (default https://api.openai.com/v1)
  LLM_API_KEY            sent as Authorization: Bearer when set
  LLM_MODEL              the model's name (required with AGENT=llm)
  LLM_SYSTEM_PROMPT[_FILE]  the system prompt, inline or from a file (default: a short built-in one)
  LLM_MAX_TURNS          model calls per run at most (default 8)
  LLM_HISTORY_MESSAGES   history messages sent with each call (default 40)
  LLM_TIMEOUT_SECONDS    one model call's time limit (default 120)
  MAX_CONCURRENCY        agent runs in flight at once (default 32)
  ASK_TIMEOUT_SECONDS    how long a question waits for its answer (default 86400)
  SEND_RATE_GLOBAL       outbox messages per second overall (default 30)
  SEND_RATE_PER_CHAT     outbox messages per second per private chat (default 1)
  SEND_RATE_PER_GROUP    outbox messages per second per group, supergroup or channel (default 0.33)
  SEND_CONCURRENCY       Bot API sends in flight at once (default 8)
  SEND_MAX_ATTEMPTS      attempts before a message fails on 5xx/network errors (default 10)
  TLS_CERT_PATH / TLS_KEY_PATH   serve HTTPS directly
  ALLOWED_UPDATES        update types asked of Telegram (default message,edited_message,callback_query,my_chat_member)
  MAX_CONNECTIONS        setWebhook max_connections, 1-100 (default 40)
  TRUSTED_IPS            off (default), on (Telegram's ranges) or a list of CIDR ranges
  TRUST_PROXY            trust X-Forwarded-For (only behind a proxy you run; default off)
  LOG_LEVEL              debug, info (default), warn, error
`;

/** An argument that names an agent module rather than a command: a path or a script file name. */
function isAgentModule(arg: string): boolean {
  return !arg.startsWith("-") && (arg.includes("/") || /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/.test(arg));
}

async function serve(agentModule?: string): Promise<void> {
  const config = loadConfig(agentModule === undefined ? process.env : { ...process.env, AGENT: agentModule });
  let service: { stop(): Promise<void> } | undefined;
  let stopping = false;
  // Until the agent module has loaded nothing is open: a signal then exits at once (a top-level
  // await that never settles would otherwise hold the start, and the exit, for good).
  let opening = false;
  const stopAndExit = async () => {
    try {
      await service!.stop();
    } catch (error) {
      process.stderr.write(`timbre: shutdown failed: ${thrownMessage(error)}\n`);
      process.exit(1);
    }
    process.exit(0);
  };
  // Set before the start: a signal during it (a slow agent module, a slow database) must not kill
  // the process mid-start; the service is stopped as soon as it has started.
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second Ctrl-C: whoever sent it does not want to wait. Stored work is redone on the next start.
      process.stderr.write(`timbre: ${signal} again: exiting at once; work in flight is redone on the next start\n`);
      process.exit(1);
    }
    if (!service && !opening) {
      process.stderr.write(`timbre: ${signal} while the agent module loads: nothing is open yet; exiting\n`);
      process.exit(0);
    }
    stopping = true;
    // SPEC: exit within 10 s. stop() keeps its waits under that; this only catches a hang (or a start that hangs).
    setTimeout(() => {
      process.stderr.write("timbre: shutdown took longer than 10 s; exiting without closing the database (its WAL is replayed on the next start)\n");
      process.exit(1);
    }, 10_000);
    if (service) void stopAndExit();
    else process.stderr.write(`timbre: ${signal} during start-up: stopping as soon as the start is done\n`);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  // DATABASE_URL: PostgreSQL, shared with any other instance of the same bot.
  const options = { onAgentLoaded: () => (opening = true) };
  const started = config.databaseUrl ? await startPgService(config, options) : await startService(config, options);
  service = started;
  // A promise the agent's code left unawaited that rejects (a ctx call from a timer after its run
  // ended) must not take every chat down with it: Bun's default is to exit. Logged; serving on.
  process.on("unhandledRejection", (reason) => {
    started.log.error("a promise rejected and nothing handled it (a promise the agent's code did not await?); serving on", errorFields(reason));
  });
  if (stopping) await stopAndExit();
}

const TYPES_USAGE = "usage: timbre types > timbre.d.ts   (the declarations of the \"timbre\" module agents import)\n";

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
    const config = loadConfig();
    if (config.databaseUrl !== undefined) {
      // DATABASE_PATH may still hold the SQLite file from before a move: a copy of it is no backup.
      process.stderr.write("timbre backup: timbre stores its data in PostgreSQL (DATABASE_URL): back it up with pg_dump (docs/deploy.md)\n");
      return 1;
    }
    const done = backupFile(config.databasePath, rest[0]!);
    process.stdout.write(`${JSON.stringify({ ok: true, path: done.path, bytes: done.bytes, ms: done.ms })}\n`);
    return 0;
  }
  if (command === "healthcheck") {
    if (rest.length === 1 && (rest[0] === "--help" || rest[0] === "-h")) {
      process.stdout.write(HEALTHCHECK_USAGE);
      return 0;
    }
    if (rest.length > 0) {
      process.stderr.write(`timbre healthcheck: takes no arguments; ${HEALTHCHECK_USAGE}`);
      return 2;
    }
    return runHealthcheck(loadConfig(), { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) });
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
  if (command === "replay-check") {
    if (rest.length === 1 && (rest[0] === "--help" || rest[0] === "-h")) {
      process.stdout.write(REPLAY_CHECK_USAGE);
      return 0;
    }
    if (rest.length > 1 || (rest.length === 1 && !isAgentModule(rest[0]!))) {
      process.stderr.write(`timbre replay-check: expected at most an agent module path; ${REPLAY_CHECK_USAGE}`);
      return 2;
    }
    const env = rest.length === 1 ? { ...process.env, AGENT: rest[0] } : process.env;
    return runReplayCheck(loadConfig(env), { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) });
  }
  if (command === "migrate-to-postgres") return migrateToPostgresCommand(rest, () => loadConfig(), { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) });
  if (command === "types") {
    if (rest.length === 1 && (rest[0] === "--help" || rest[0] === "-h")) {
      process.stdout.write(TYPES_USAGE);
      return 0;
    }
    if (rest.length > 0) {
      process.stderr.write(`timbre types: takes no arguments; ${TYPES_USAGE}`);
      return 2;
    }
    process.stdout.write(agentTypes);
    return 0;
  }
  if (command !== undefined && isAgentModule(command)) {
    if (rest.length > 0) {
      process.stderr.write(`timbre: unexpected ${JSON.stringify(rest.join(" "))} after the agent module ${command}; usage: timbre ${command}\n`);
      return 2;
    }
    await serve(command);
    return undefined;
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

import { existsSync, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { pemFileProblem } from "./pem-file.ts";
import { agentNames, isBuiltInAgent, type RegisteredAgent } from "./agents/index.ts";
import { DEFAULT_SYSTEM_PROMPT, LLM_DEFAULTS, type LlmSettings } from "./agents/llm/settings.ts";
import { UPDATE_TYPES, unknownUpdateType } from "./ingest/update-types.ts";
import { ConfigError, fail, flag, integer, oneOf, positiveNumber, read, refuseQueryOrFragment, type Env } from "./config-values.ts";

export type BotMode = "webhook" | "polling";
/** A built-in agent's name: a key of the registry in src/agents/index.ts. */
export type AgentName = RegisteredAgent;
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Everything timbre reads from the environment, validated once at start. */
export interface Config {
  /** Unset means sandbox mode: a built-in Bot API emulator stands in for Telegram. */
  botToken: string | undefined;
  sandbox: boolean;
  /** Bot API root; calls go to `{apiUrl}/bot{token}/{method}`. Undefined in sandbox mode until the emulator is mounted. */
  apiUrl: string;
  botMode: BotMode;
  publicUrl: string | undefined;
  /** Undefined: generated once and kept in the database. */
  webhookSecret: string | undefined;
  /** HOST; default 0.0.0.0, and 127.0.0.1 in sandbox mode. */
  host: string;
  port: number;
  /** Absolute path of the SQLite file. */
  databasePath: string;
  /** DATABASE_URL: a postgres:// URL to keep everything in PostgreSQL instead of SQLite; undefined: SQLite. */
  databaseUrl: string | undefined;
  adminToken: string | undefined;
  /** A built-in agent's name, or the absolute path of an agent module (loaded by agents/load-agent.ts). */
  agent: AgentName | string;
  maxConcurrency: number;
  askTimeoutSeconds: number;
  sendRateGlobal: number;
  sendRatePerChat: number;
  /** Messages a second to one group, supergroup or channel (SEND_RATE_PER_GROUP). */
  sendRatePerGroup: number;
  sendConcurrency: number;
  sendMaxAttempts: number;
  tlsCertPath: string | undefined;
  tlsKeyPath: string | undefined;
  allowedUpdates: string[];
  maxConnections: number;
  /** CIDR ranges webhooks are accepted from; empty = any address. */
  trustedIps: string[];
  trustProxy: boolean;
  logLevel: LogLevel;
  /** The llm agent's LLM_* settings; undefined unless AGENT=llm. */
  llm: LlmSettings | undefined;
}

export const TELEGRAM_IP_RANGES = ["149.154.160.0/20", "91.108.4.0/22"];
export const TELEGRAM_WEBHOOK_PORTS = [443, 80, 88, 8443];
export const DEFAULT_API_URL = "https://api.telegram.org";
const SECRET_PATTERN = /^[A-Za-z0-9_-]{1,256}$/;

export { ConfigError } from "./config-values.ts";

function isCidr(value: string): boolean {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(value);
  if (!match) return false;
  const octets = match.slice(1, 5).map(Number);
  const bits = match[5] === undefined ? 32 : Number(match[5]);
  return octets.every((o) => o <= 255) && bits <= 32;
}

function trustedIps(env: Env): string[] {
  const raw = read(env, "TRUSTED_IPS");
  if (raw === undefined) return [];
  const value = raw.toLowerCase();
  if (["0", "false", "off", "no"].includes(value)) return [];
  if (["1", "true", "on", "yes", "telegram"].includes(value)) return [...TELEGRAM_IP_RANGES];
  const ranges = raw.split(",").map((r) => r.trim()).filter(Boolean);
  const bad = ranges.find((r) => !isCidr(r));
  if (bad !== undefined || ranges.length === 0) {
    fail("TRUSTED_IPS", raw, "expected off, on (Telegram's ranges 149.154.160.0/20 and 91.108.4.0/22) or a comma-separated list of IPv4 CIDR ranges");
  }
  return ranges;
}

function publicUrl(env: Env): string | undefined {
  const raw = read(env, "PUBLIC_URL");
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail("PUBLIC_URL", raw, "expected an https URL such as https://bot.example.com");
  }
  if (url.protocol !== "https:") fail("PUBLIC_URL", raw, "expected an https URL (Telegram only calls https webhooks)");
  const port = url.port === "" ? 443 : Number(url.port);
  if (!TELEGRAM_WEBHOOK_PORTS.includes(port)) {
    fail("PUBLIC_URL", raw, `Telegram only calls webhooks on ports ${TELEGRAM_WEBHOOK_PORTS.join(", ")}`);
  }
  refuseQueryOrFragment("PUBLIC_URL", raw, "https://bot.example.com");
  return raw.replace(/\/+$/, "");
}

function databaseUrl(env: Env): string | undefined {
  const raw = read(env, "DATABASE_URL");
  if (raw === undefined) return undefined;
  const allowed = "expected a PostgreSQL URL such as postgres://timbre:password@db.example.com:5432/timbre";
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail("DATABASE_URL", "<hidden>", allowed);
  }
  // The password is a secret: the value is shown without it, and not at all when it has no
  // user:password@host part where the password could be found and hidden.
  if (url.password) url.password = "***";
  const shown = raw.includes("//") ? url.toString() : "<hidden>";
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") fail("DATABASE_URL", shown, allowed);
  if (url.hostname === "" && !url.searchParams.has("host")) fail("DATABASE_URL", shown, `${allowed} (it names no host)`);
  return raw;
}

function apiUrl(env: Env, token: string | undefined): string {
  const raw = read(env, "TELEGRAM_API_URL");
  if (raw === undefined) return DEFAULT_API_URL;
  if (token === undefined) {
    fail("TELEGRAM_API_URL", raw, "it needs TELEGRAM_BOT_TOKEN as well (a Bot API server always needs a token); unset it to use the sandbox");
  }
  try {
    const url = new URL(raw);
    if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error();
  } catch {
    fail("TELEGRAM_API_URL", raw, "expected an http(s) URL such as https://api.telegram.org");
  }
  refuseQueryOrFragment("TELEGRAM_API_URL", raw, "https://api.telegram.org");
  return raw.replace(/\/+$/, "");
}

function tlsPath(env: Env, name: string): string | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  const problem = pemFileProblem(raw);
  if (problem) fail(name, raw, `expected the path of a readable PEM file; ${problem}`);
  return resolve(raw);
}

/** AGENT: a built-in name (any case), else the path of an agent module, resolved against `cwd`. */
function agent(env: Env, cwd: string): string {
  const raw = read(env, "AGENT");
  if (raw === undefined) return "coach";
  if (isBuiltInAgent(raw.toLowerCase())) return raw.toLowerCase();
  const path = resolve(cwd, raw);
  if (!existsSync(path) || !statSync(path).isFile()) {
    const found = existsSync(path) ? `${path} is a folder, not a file` : `no file at ${path}`;
    fail("AGENT", raw, `expected one of ${agentNames.join(", ")}, or the path of an agent module such as ./bot.ts (${found})`);
  }
  return path;
}

function allowedUpdates(env: Env): string[] {
  const raw = read(env, "ALLOWED_UPDATES") ?? "message,edited_message,callback_query,my_chat_member";
  const list = raw.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = unknownUpdateType(list);
  if (unknown !== undefined || list.length === 0) {
    const which = unknown !== undefined ? `${JSON.stringify(unknown)} is not one; they are` : "they are";
    fail("ALLOWED_UPDATES", raw, `expected a comma-separated list of Telegram update types (${which} ${UPDATE_TYPES.join(", ")})`);
  }
  return [...new Set(list)];
}

function llmSettings(env: Env, cwd: string): LlmSettings {
  const model = read(env, "LLM_MODEL");
  if (model === undefined) throw new ConfigError("LLM_MODEL is required with AGENT=llm: the model's name as your API knows it (e.g. LLM_MODEL=gpt-4o-mini, or LLM_MODEL=llama3.2 for Ollama)");
  const baseUrl = read(env, "LLM_BASE_URL") ?? LLM_DEFAULTS.baseUrl;
  try {
    const url = new URL(baseUrl);
    if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error();
  } catch {
    fail("LLM_BASE_URL", baseUrl, "expected the http(s) root of an OpenAI-compatible API, such as https://api.openai.com/v1 or http://localhost:11434/v1");
  }
  refuseQueryOrFragment("LLM_BASE_URL", baseUrl, "https://api.openai.com/v1");
  const apiKey = read(env, "LLM_API_KEY");
  // Shorter, it could not be told from ordinary text in a log line or an error, so not redacted from them.
  if (apiKey !== undefined && apiKey.length < 4) {
    throw new ConfigError(`LLM_API_KEY is ${apiKey.length} character${apiKey.length === 1 ? "" : "s"} long: it must be at least 4, so that it can be redacted from every log line and error (give your local server a longer --api-key)`);
  }
  const inline = read(env, "LLM_SYSTEM_PROMPT");
  const file = read(env, "LLM_SYSTEM_PROMPT_FILE");
  if (inline !== undefined && file !== undefined) fail("LLM_SYSTEM_PROMPT_FILE", file, "LLM_SYSTEM_PROMPT is set too; set one of them");
  let systemPrompt = inline ?? DEFAULT_SYSTEM_PROMPT;
  if (file !== undefined) {
    try {
      systemPrompt = readFileSync(resolve(cwd, file), "utf8").trim();
    } catch (error) {
      fail("LLM_SYSTEM_PROMPT_FILE", file, `expected a readable text file with the system prompt (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    if (systemPrompt === "") fail("LLM_SYSTEM_PROMPT_FILE", file, "the file is empty; write the system prompt in it");
  }
  return {
    baseUrl: baseUrl.replace(/\/+$/, ""),
    apiKey,
    model,
    systemPrompt,
    maxTurns: integer(env, "LLM_MAX_TURNS", LLM_DEFAULTS.maxTurns, 1, 100),
    historyMessages: integer(env, "LLM_HISTORY_MESSAGES", LLM_DEFAULTS.historyMessages, 0, 10_000),
    timeoutSeconds: positiveNumber(env, "LLM_TIMEOUT_SECONDS", LLM_DEFAULTS.timeoutSeconds, 3_600),
  };
}

/** Parses and validates the environment; throws ConfigError on the first bad value. */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const botToken = read(env, "TELEGRAM_BOT_TOKEN");
  if (botToken !== undefined && !/^\d+:[A-Za-z0-9_-]+$/.test(botToken)) {
    fail("TELEGRAM_BOT_TOKEN", "<hidden>", "expected a token like 123456:ABC-DEF from @BotFather");
  }
  const webhookSecret = read(env, "WEBHOOK_SECRET");
  if (webhookSecret !== undefined && !SECRET_PATTERN.test(webhookSecret)) {
    fail("WEBHOOK_SECRET", "<hidden>", "expected 1-256 characters of A-Z a-z 0-9 _ -");
  }
  const tlsCertPath = tlsPath(env, "TLS_CERT_PATH");
  const tlsKeyPath = tlsPath(env, "TLS_KEY_PATH");
  if ((tlsCertPath === undefined) !== (tlsKeyPath === undefined)) {
    const [name, other] = tlsCertPath === undefined ? ["TLS_KEY_PATH", "TLS_CERT_PATH"] : ["TLS_CERT_PATH", "TLS_KEY_PATH"];
    fail(name!, read(env, name!) ?? "", `${other} must be set too (HTTPS needs both the certificate and its key)`);
  }
  const databasePath = read(env, "DATABASE_PATH") ?? "./data/timbre.db";
  // The sandbox answers anyone who reaches it (and with a model-backed agent spends the owner's
  // credits): this machine only, unless HOST says otherwise.
  const host = read(env, "HOST") ?? (botToken === undefined ? "127.0.0.1" : "0.0.0.0");
  return Object.freeze({
    botToken,
    sandbox: botToken === undefined,
    apiUrl: apiUrl(env, botToken),
    botMode: oneOf(env, "BOT_MODE", "webhook", ["webhook", "polling"] as const),
    publicUrl: publicUrl(env),
    webhookSecret,
    host,
    port: integer(env, "PORT", 8080, 0, 65535),
    databasePath: databasePath === ":memory:" ? databasePath : resolve(cwd, databasePath),
    databaseUrl: databaseUrl(env),
    adminToken: read(env, "ADMIN_TOKEN"),
    agent: agent(env, cwd),
    maxConcurrency: integer(env, "MAX_CONCURRENCY", 32, 1, 10_000),
    askTimeoutSeconds: integer(env, "ASK_TIMEOUT_SECONDS", 86_400, 1, 365 * 86_400),
    sendRateGlobal: positiveNumber(env, "SEND_RATE_GLOBAL", 30, 100_000),
    sendRatePerChat: positiveNumber(env, "SEND_RATE_PER_CHAT", 1, 100_000),
    sendRatePerGroup: positiveNumber(env, "SEND_RATE_PER_GROUP", 0.33, 100_000),
    sendConcurrency: integer(env, "SEND_CONCURRENCY", 8, 1, 1_000),
    sendMaxAttempts: integer(env, "SEND_MAX_ATTEMPTS", 10, 1, 1_000),
    tlsCertPath,
    tlsKeyPath,
    allowedUpdates: allowedUpdates(env),
    maxConnections: integer(env, "MAX_CONNECTIONS", 40, 1, 100),
    trustedIps: trustedIps(env),
    trustProxy: flag(env, "TRUST_PROXY"),
    logLevel: oneOf(env, "LOG_LEVEL", "info", ["debug", "info", "warn", "error"] as const),
    llm: read(env, "AGENT")?.toLowerCase() === "llm" ? llmSettings(env, cwd) : undefined,
  });
}

import type { LogLevel } from "../config.ts";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** Turns an Error into fields a log reader can use (message and stack, never the object itself). */
export function errorFields(error: unknown): LogFields {
  if (error instanceof Error) return { error: error.message, error_name: error.name };
  // What was thrown instead of an Error: "String", "Object", "Null"... (never throws, unlike String()).
  return { error: thrownMessage(error), error_name: Object.prototype.toString.call(error).slice(8, -1) };
}

/**
 * What a thrown value says, whatever an agent threw: an Error's message, else its String(); a
 * value String() cannot convert (an object without a prototype) by its tag, "[object Object]".
 */
export function thrownMessage(value: unknown): string {
  if (value instanceof Error) return value.message;
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * Every form a secret can take inside a JSON log line: as is, JSON-escaped (once or twice), URL-encoded, and
 * for a bot token (`123:ABC...`) its secret half alone. Longest first, so a whole token is
 * replaced before its half. Values shorter than 4 characters are not redacted (they would
 * garble every line and protect nothing).
 */
export function redactionVariants(secrets: readonly string[]): string[] {
  const variants = new Set<string>();
  for (const secret of secrets) {
    const escaped = JSON.stringify(secret).slice(1, -1);
    // Escaped twice: a message that already quotes the secret JSON-escaped (an exception quoting a request body).
    const forms = [secret, escaped, JSON.stringify(escaped).slice(1, -1), encodeURIComponent(secret)];
    const tokenSecret = /^\d+:(.+)$/.exec(secret)?.[1];
    if (tokenSecret !== undefined) forms.push(tokenSecret);
    for (const form of forms) if (form.length >= 4) variants.add(form);
  }
  return [...variants].sort((a, b) => b.length - a.length);
}

/**
 * One JSON object per line on stdout. `redact` holds secrets (bot token, webhook secret,
 * admin token) that are replaced wherever they appear, so no log line can leak them.
 */
export function createLogger(level: LogLevel, redact: string[] = [], write: (line: string) => void = (l) => process.stdout.write(l)): Logger {
  const threshold = ORDER[level];
  const secrets = redactionVariants(redact);
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (ORDER[lvl] < threshold) return;
    let line = JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...fields });
    for (const secret of secrets) line = line.split(secret).join("[redacted]");
    write(line + "\n");
  };
  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

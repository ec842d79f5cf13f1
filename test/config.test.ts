import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig, TELEGRAM_IP_RANGES } from "../src/config.ts";
import { ROOT, tempDir } from "./helpers.ts";

const TOKEN = "123456:ABC-def_ghi";

function errorOf(env: Record<string, string>): string {
  try {
    loadConfig(env, "/srv");
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe("defaults", () => {
  test("an empty environment is sandbox mode with SPEC's defaults", () => {
    const config = loadConfig({}, "/srv");
    expect(config).toMatchObject({
      botToken: undefined,
      sandbox: true,
      apiUrl: "https://api.telegram.org",
      botMode: "webhook",
      // The sandbox answers anyone who reaches it: this machine only by default.
      host: "127.0.0.1",
      port: 8080,
      databasePath: "/srv/data/timbre.db",
      agent: "coach",
      maxConcurrency: 32,
      askTimeoutSeconds: 86400,
      sendRateGlobal: 30,
      sendRatePerChat: 1,
      sendRatePerGroup: 0.33,
      sendConcurrency: 8,
      sendMaxAttempts: 10,
      allowedUpdates: ["message", "edited_message", "callback_query", "my_chat_member"],
      maxConnections: 40,
      trustedIps: [],
      trustProxy: false,
      logLevel: "info",
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  test("HOST: 0.0.0.0 by default with a token, 127.0.0.1 for the sandbox unless HOST is set", () => {
    expect(loadConfig({ TELEGRAM_BOT_TOKEN: TOKEN }, "/srv").host).toBe("0.0.0.0");
    expect(loadConfig({}, "/srv").host).toBe("127.0.0.1");
    expect(loadConfig({ HOST: "0.0.0.0" }, "/srv").host).toBe("0.0.0.0");
    expect(loadConfig({ HOST: "" }, "/srv").host).toBe("127.0.0.1");
    expect(loadConfig({ TELEGRAM_BOT_TOKEN: TOKEN, HOST: "127.0.0.1" }, "/srv").host).toBe("127.0.0.1");
  });

  test("valid values are taken, relative paths resolved against the working directory", () => {
    const config = loadConfig(
      {
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_API_URL: "http://127.0.0.1:9000/",
        BOT_MODE: "polling",
        PUBLIC_URL: "https://bot.example.com:8443/",
        WEBHOOK_SECRET: "abc_DEF-123",
        PORT: "0",
        DATABASE_PATH: "db/x.db",
        AGENT: "echo",
        SEND_RATE_PER_CHAT: "0.5",
        SEND_RATE_PER_GROUP: "0.25",
        ALLOWED_UPDATES: "message, callback_query, managed_bot, guest_message, stopped_message_generation",
        TRUSTED_IPS: "on",
        TRUST_PROXY: "true",
        LOG_LEVEL: "DEBUG",
      },
      "/srv",
    );
    expect(config).toMatchObject({
      sandbox: false,
      apiUrl: "http://127.0.0.1:9000",
      botMode: "polling",
      publicUrl: "https://bot.example.com:8443",
      port: 0,
      databasePath: "/srv/db/x.db",
      agent: "echo",
      sendRatePerChat: 0.5,
      sendRatePerGroup: 0.25,
      allowedUpdates: ["message", "callback_query", "managed_bot", "guest_message", "stopped_message_generation"],
      trustedIps: TELEGRAM_IP_RANGES,
      trustProxy: true,
      logLevel: "debug",
    });
  });
});

describe("a bad value names the variable, the value and what is allowed", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ BOT_MODE: "hook" }, /^BOT_MODE="hook" is invalid: expected one of webhook, polling$/],
    [{ PORT: "80a" }, /^PORT="80a" is invalid: expected a whole number from 0 to 65535$/],
    [{ PORT: "70000" }, /^PORT="70000" is invalid/],
    [{ PUBLIC_URL: "http://bot.example.com" }, /^PUBLIC_URL="http:\/\/bot.example.com" is invalid: expected an https URL/],
    [{ PUBLIC_URL: "not a url" }, /^PUBLIC_URL="not a url" is invalid/],
    [{ PUBLIC_URL: "https://bot.example.com:8080" }, /^PUBLIC_URL=.* is invalid: Telegram only calls webhooks on ports 443, 80, 88, 8443$/],
    [{ WEBHOOK_SECRET: "has space" }, /^WEBHOOK_SECRET=.* is invalid: expected 1-256 characters of A-Z a-z 0-9 _ -$/],
    [{ WEBHOOK_SECRET: "x".repeat(257) }, /^WEBHOOK_SECRET=/],
    [{ TELEGRAM_BOT_TOKEN: "nonsense" }, /^TELEGRAM_BOT_TOKEN=.* is invalid: expected a token like/],
    [{ TELEGRAM_API_URL: "http://127.0.0.1:9" }, /^TELEGRAM_API_URL=.* is invalid: it needs TELEGRAM_BOT_TOKEN as well/],
    [{ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_URL: "ftp://x" }, /^TELEGRAM_API_URL="ftp:\/\/x" is invalid: expected an http\(s\) URL/],
    [{ AGENT: "gpt" }, /^AGENT="gpt" is invalid: expected one of coach, echo, llm, or the path of an agent module such as \.\/bot\.ts \(no file at \/.*\/gpt\)$/],
    [{ MAX_CONCURRENCY: "0" }, /^MAX_CONCURRENCY="0" is invalid: expected a whole number from 1/],
    [{ ASK_TIMEOUT_SECONDS: "1.5" }, /^ASK_TIMEOUT_SECONDS="1.5" is invalid/],
    [{ SEND_RATE_GLOBAL: "-1" }, /^SEND_RATE_GLOBAL="-1" is invalid: expected a number greater than 0/],
    [{ SEND_RATE_PER_CHAT: "0" }, /^SEND_RATE_PER_CHAT="0" is invalid/],
    [{ SEND_RATE_PER_GROUP: "0" }, /^SEND_RATE_PER_GROUP="0" is invalid: expected a number greater than 0/],
    [{ SEND_CONCURRENCY: "many" }, /^SEND_CONCURRENCY="many" is invalid/],
    [{ SEND_MAX_ATTEMPTS: "0" }, /^SEND_MAX_ATTEMPTS="0" is invalid/],
    [{ TLS_CERT_PATH: "/nonexistent/cert.pem" }, /^TLS_CERT_PATH="\/nonexistent\/cert.pem" is invalid: expected the path of a readable PEM file/],
    [{ ALLOWED_UPDATES: "message,telepathy" }, /^ALLOWED_UPDATES="message,telepathy" is invalid: expected a comma-separated list of Telegram update types \("telepathy" is not one; they are message, edited_message, .*managed_bot/],
    [{ MAX_CONNECTIONS: "101" }, /^MAX_CONNECTIONS="101" is invalid: expected a whole number from 1 to 100$/],
    [{ TRUSTED_IPS: "10.0.0.0/33" }, /^TRUSTED_IPS="10.0.0.0\/33" is invalid/],
    [{ TRUST_PROXY: "maybe" }, /^TRUST_PROXY="maybe" is invalid: expected on or off/],
    [{ LOG_LEVEL: "loud" }, /^LOG_LEVEL="loud" is invalid: expected one of debug, info, warn, error$/],
  ];
  for (const [env, pattern] of cases) {
    test(Object.keys(env).join("+"), () => {
      const message = errorOf(env);
      expect(message).toMatch(pattern);
      expect(message).not.toContain("\n");
    });
  }

  test("secrets are never echoed back", () => {
    expect(errorOf({ WEBHOOK_SECRET: "super secret value" })).not.toContain("super secret value");
    expect(errorOf({ TELEGRAM_BOT_TOKEN: "leaky-token" })).not.toContain("leaky-token");
  });

  test("TLS needs both files", () => {
    const dir = tempDir("timbre-tls-");
    try {
      writeFileSync(join(dir.path, "cert.pem"), "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n");
      expect(errorOf({ TLS_CERT_PATH: join(dir.path, "cert.pem") })).toMatch(/^TLS_CERT_PATH=.* is invalid: TLS_KEY_PATH must be set too/);
    } finally {
      dir.cleanup();
    }
  });
});

test("the service refuses to start on a bad value with one line and exit code 1", async () => {
  const proc = Bun.spawn([process.execPath, join(ROOT, "src/main.ts")], {
    env: { PATH: process.env.PATH ?? "", BOT_MODE: "hook", DATABASE_PATH: join(tmpdir(), "never-created", "x.db") },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stderr, stdout] = await Promise.all([proc.exited, new Response(proc.stderr).text(), new Response(proc.stdout).text()]);
  expect(code).toBe(1);
  expect(stderr).toBe('timbre: BOT_MODE="hook" is invalid: expected one of webhook, polling\n');
  expect(stdout).toBe("");
});

describe("DATABASE_URL", () => {
  test("unset is SQLite; a postgres:// or postgresql:// URL is taken as it is", () => {
    expect(loadConfig({}, "/srv").databaseUrl).toBeUndefined();
    expect(loadConfig({ DATABASE_URL: "" }, "/srv").databaseUrl).toBeUndefined();
    expect(loadConfig({ DATABASE_URL: "postgres://timbre:s3cret@db:5432/timbre" }, "/srv").databaseUrl).toBe("postgres://timbre:s3cret@db:5432/timbre");
    expect(loadConfig({ DATABASE_URL: "postgresql://db/timbre?sslmode=require" }, "/srv").databaseUrl).toBe("postgresql://db/timbre?sslmode=require");
    expect(loadConfig({ DATABASE_URL: "postgres:///timbre?host=/var/run/postgresql" }, "/srv").databaseUrl).toBe("postgres:///timbre?host=/var/run/postgresql");
  });

  test("anything else is refused with the password hidden", () => {
    expect(errorOf({ DATABASE_URL: "mysql://root:s3cret@db/timbre" })).toBe(
      'DATABASE_URL="mysql://root:***@db/timbre" is invalid: expected a PostgreSQL URL such as postgres://timbre:password@db.example.com:5432/timbre',
    );
    expect(errorOf({ DATABASE_URL: "db.example.com:5432" })).toContain("DATABASE_URL=");
    expect(errorOf({ DATABASE_URL: "timbre:s3cret@db" })).toBe(
      'DATABASE_URL="<hidden>" is invalid: expected a PostgreSQL URL such as postgres://timbre:password@db.example.com:5432/timbre',
    );
    expect(errorOf({ DATABASE_URL: "postgres:///timbre" })).toMatch(/it names no host/);
  });
});

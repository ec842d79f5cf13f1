import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { createLogger, errorFields, redactionVariants } from "../../src/observability/log.ts";
import { BotApiEmulator } from "../../src/sandbox/emulator.ts";
import { postUpdate, ROOT, spawnService, tempDir, textUpdate, waitFor } from "../helpers.ts";

const BOT_TOKEN = "5550001:LogTestTokenSecretPart_abcXYZ";
const WEBHOOK_SECRET = "log-test_webhook-SECRET_0123456789";
// Quotes, a backslash and a plus: JSON-escaped and URL-encoded it looks different, and must still never show.
const ADMIN_TOKEN = 'admin"Tok\\en+4f9c2e7d1b';

const emulator = new BotApiEmulator({ token: BOT_TOKEN });
const emulatorUrl = emulator.listen();
const UNAUTHORIZED_CHAT = 401_001;
/** Telegram as the service sees it: the emulator, except sends to one chat answer 401 Unauthorized. */
const telegram = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(request) {
    const url = new URL(request.url);
    const body = await request.text();
    if (url.pathname.endsWith("/sendMessage") && new RegExp(`"chat_id":\\s*${UNAUTHORIZED_CHAT}\\b`).test(body)) {
      return Response.json({ ok: false, error_code: 401, description: "Unauthorized" }, { status: 401 });
    }
    return emulator.fetch(new Request(`${emulatorUrl}${url.pathname}`, { method: request.method, headers: request.headers, body }));
  },
});
const dir = tempDir();
afterAll(() => {
  telegram.stop(true);
  emulator.stop();
  dir.cleanup();
});

const FIXTURE = [process.execPath, join(ROOT, "test/observability/fixtures/leaky-agent-service.ts")];

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    TELEGRAM_BOT_TOKEN: BOT_TOKEN,
    TELEGRAM_API_URL: `http://127.0.0.1:${telegram.port}`,
    DATABASE_PATH: `${dir.path}/logs.db`,
    HOST: "127.0.0.1",
    PORT: "0",
    WEBHOOK_SECRET,
    ADMIN_TOKEN,
    AGENT: "echo",
    SEND_RATE_PER_CHAT: "1000",
    SEND_RATE_GLOBAL: "1000",
    SEND_MAX_ATTEMPTS: "2",
    ...extra,
  };
}

const user = (id: number) => ({ id, first_name: `U${id}` });

/** Every line is one JSON object with a time, a known level and a message. */
function parseLines(output: string): Record<string, unknown>[] {
  const lines = output.split("\n").filter((line) => line !== "");
  return lines.map((line) => {
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      throw new Error(`a log line is not JSON: ${line}`);
    }
    expect(typeof entry === "object" && entry !== null && !Array.isArray(entry)).toBe(true);
    const fields = entry as Record<string, unknown>;
    expect(["debug", "info", "warn", "error"]).toContain(fields.level as string);
    expect(typeof fields.msg).toBe("string");
    expect(typeof fields.time).toBe("string");
    return fields;
  });
}

test("no secret or token appears in the log, whatever goes wrong; every line is JSON with its ids", async () => {
  const service = await spawnService(env({ LOG_LEVEL: "debug" }), FIXTURE);
  try {
    // Wrong webhook secrets, one of them almost right.
    expect((await postUpdate(service.url, textUpdate(user(1), "x", 1), "wrong")).status).toBe(401);
    expect((await postUpdate(service.url, textUpdate(user(1), "x", 2), WEBHOOK_SECRET.slice(0, -1))).status).toBe(401);
    // The admin API with the right token (the limiter below then locks this address out).
    const info = await fetch(`${service.url}/admin/webhook`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(info.status).toBe(200);
    // Wrong admin tokens until the limiter answers 429, and the bot token tried as the admin token.
    for (let i = 0; i < 11; i++) {
      const response = await fetch(`${service.url}/admin/stats`, { headers: { authorization: `Bearer ${i === 0 ? BOT_TOKEN : `guess-${i}`}` } });
      expect([401, 429]).toContain(response.status);
    }
    // Telegram errors: 401 for one chat, 403 (blocked) for another, 502 for a while for a third.
    expect((await postUpdate(service.url, textUpdate(user(UNAUTHORIZED_CHAT), "to 401", 10), WEBHOOK_SECRET)).status).toBe(200);
    emulator.faults.blockedChats.add(403_001);
    expect((await postUpdate(service.url, textUpdate(user(403_001), "to 403", 11), WEBHOOK_SECRET)).status).toBe(200);
    emulator.faults.down = true;
    expect((await postUpdate(service.url, textUpdate(user(502_001), "to 502", 12), WEBHOOK_SECRET)).status).toBe(200);
    // A failing agent whose error quotes the token and both secrets.
    expect((await postUpdate(service.url, textUpdate(user(500_001), "boom", 13), WEBHOOK_SECRET)).status).toBe(200);
    await waitFor(() => /outbox: send failed, will retry[^\n]*"chat_id":502001/.test(service.output()), "a logged 502 retry");
    await waitFor(() => /"msg":"run failed: the agent threw"/.test(service.output()), "the failed run in the log");
    emulator.faults.down = false;
    await waitFor(() => emulator.sentTo(502_001).length === 1, "the 502 chat's echo once Telegram is back", 10_000);
    await waitFor(() => /outbox: message failed[^\n]*"chat_id":401001/.test(service.output()), "the 401 send in the log");
    await waitFor(() => /outbox: message failed[^\n]*"chat_id":403001/.test(service.output()), "the 403 send in the log");
  } finally {
    expect(await service.terminate()).toBe(0);
  }
  const output = service.output();
  for (const secret of [BOT_TOKEN, WEBHOOK_SECRET, ADMIN_TOKEN]) {
    for (const form of redactionVariants([secret])) expect(output).not.toContain(form);
  }
  // The leaky error was logged, with the secrets replaced.
  expect(output).toContain("[redacted]");

  const entries = parseLines(output);
  const failedRun = entries.find((e) => e.msg === "run failed: the agent threw")!;
  expect(failedRun).toMatchObject({ level: "error", chat_id: 500_001, update_id: 13 });
  expect(typeof failedRun.run_id).toBe("number");
  const withIds = (chatId: number, msg: string) => entries.find((e) => e.chat_id === chatId && String(e.msg).startsWith(msg));
  for (const [chatId, msg, code] of [
    [UNAUTHORIZED_CHAT, "outbox: message failed", 401],
    [403_001, "outbox: message failed", 403],
    [502_001, "outbox: send failed, will retry", undefined],
  ] as const) {
    const entry = withIds(chatId, msg);
    expect(entry).toBeDefined();
    expect(typeof entry!.outbox_id).toBe("number");
    expect(typeof entry!.run_id).toBe("number");
    expect(typeof entry!.update_id).toBe("number");
    if (code !== undefined) expect(entry!.code).toBe(code);
  }
}, 30_000);

test("LOG_LEVEL=warn hides info and debug lines and keeps warnings and errors", async () => {
  // spawnService waits for the info start line, which warn hides: pick a free port and poll /healthz.
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
  const port = probe.port!;
  await probe.stop(true);
  const proc = Bun.spawn(FIXTURE, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env({ LOG_LEVEL: "warn", PORT: String(port), DATABASE_PATH: `${dir.path}/warn.db` }) },
    stdout: "pipe",
    stderr: "pipe",
  });
  let output = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) output += decoder.decode(chunk);
  };
  const pumps = [pump(proc.stdout), pump(proc.stderr)];
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => (await fetch(`${url}/healthz`)).ok, "the warn-level service to serve", 20_000);
    // An echo (info-level path only), then a blocked chat: an error line.
    expect((await postUpdate(url, textUpdate(user(601), "quiet", 1), WEBHOOK_SECRET)).status).toBe(200);
    await waitFor(() => emulator.sentTo(601).length === 1, "the echo");
    emulator.faults.blockedChats.add(602);
    expect((await postUpdate(url, textUpdate(user(602), "blocked", 2), WEBHOOK_SECRET)).status).toBe(200);
    await waitFor(() => output.includes('"msg":"outbox: message failed'), "the error line");
  } finally {
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    await Promise.all(pumps);
  }
  const entries = parseLines(output);
  expect(entries.length).toBeGreaterThan(0);
  expect(entries.filter((e) => e.level === "info" || e.level === "debug")).toEqual([]);
  expect(output).not.toContain("timbre is serving");
  expect(entries.some((e) => e.level === "error" && e.chat_id === 602)).toBe(true);
}, 30_000);

test("the logger: level threshold, ids kept, every form of a secret redacted", () => {
  const lines: string[] = [];
  const log = createLogger("info", ["123456:AAHsecretHalf-xyz", 'we"ird\\secret'], (line) => lines.push(line));
  log.debug("hidden");
  log.info("shown", { update_id: 7, chat_id: -100 });
  log.error("leak", {
    url: "https://api.telegram.org/bot123456:AAHsecretHalf-xyz/getMe",
    encoded: "bot123456%3AAAHsecretHalf-xyz",
    half: "token AAHsecretHalf-xyz",
    odd: 'we"ird\\secret',
  });
  expect(lines.length).toBe(2);
  expect(JSON.parse(lines[0]!)).toMatchObject({ level: "info", msg: "shown", update_id: 7, chat_id: -100 });
  const leak = JSON.parse(lines[1]!) as Record<string, string>;
  expect(leak).toMatchObject({
    url: "https://api.telegram.org/bot[redacted]/getMe",
    encoded: "bot[redacted]",
    half: "token [redacted]",
    odd: "[redacted]",
  });
  expect(lines.every((line) => line.endsWith("\n") && !line.slice(0, -1).includes("\n"))).toBe(true);
});

test("an error's log fields name its kind, also for a thrown value that is no Error (docs: errors add `error` and `error_name`)", () => {
  expect(errorFields(new TypeError("bad"))).toEqual({ error: "bad", error_name: "TypeError" });
  expect(errorFields("a string thrown")).toEqual({ error: "a string thrown", error_name: "String" });
  expect(errorFields({ code: 7 })).toEqual({ error: "[object Object]", error_name: "Object" });
  expect(errorFields(Object.create(null))).toEqual({ error: "[object Object]", error_name: "Object" });
  expect(errorFields(null)).toEqual({ error: "null", error_name: "Null" });
});

/**
 * The brief's rule, from SPEC "HTTP routes": "An admin route whose Telegram call fails (Telegram's
 * error, 5xx, network) answers 502 with the cause in `error`", with docs/operations.md "Logs":
 * "No secret reaches the log: the bot token ... replaced by `[redacted]` ... whatever the message
 * that carries them". The log line for this very failure is redacted (createLogger), but the
 * admin route's 502 body is built from the same description unredacted
 * (src/admin/route-parts.ts telegramError = failureText, src/telegram/bot-api-answer.ts bodyStart):
 * an answer that is not a Bot API one and quotes the request path (an Express-style
 * "Cannot POST /bot<token>/getWebhookInfo" page behind a wrong TELEGRAM_API_URL) puts the bot
 * token into GET /admin/webhook's error body.
 */
import { afterAll, expect, test } from "bun:test";
import { BotApiEmulator } from "../../src/sandbox/emulator.ts";
import { serviceEnv, startInProcess, tempDir } from "../helpers.ts";

const BOT_TOKEN = "5550002:AuditTokenSecretPart_qrsTUV";
const ADMIN_TOKEN = "audit-admin-token-0123456789abcdef";
const emulator = new BotApiEmulator({ token: BOT_TOKEN });
const apiUrl = emulator.listen();
const dir = tempDir();
afterAll(() => {
  emulator.stop();
  dir.cleanup();
});

test("GET /admin/webhook's 502 body never carries the bot token", async () => {
  const service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { ADMIN_TOKEN, AGENT: "echo" }));
  try {
    // What stands at TELEGRAM_API_URL answers like a generic web framework's 404 page.
    emulator.faults.methods = ["getWebhookInfo"];
    emulator.faults.rawAnswers.push({ status: 404, contentType: "text/html", body: `<pre>Cannot POST /bot${BOT_TOKEN}/getWebhookInfo</pre>` });
    const response = await fetch(`${service.url}/admin/webhook`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(response.status).toBe(502);
    const body = (await response.json()) as { ok: boolean; error: string };
    expect(body.ok).toBe(false);
    expect(body.error).not.toContain(BOT_TOKEN);
    expect(body.error).not.toContain(BOT_TOKEN.split(":")[1]!);
  } finally {
    await service.stop();
  }
}, 30_000);

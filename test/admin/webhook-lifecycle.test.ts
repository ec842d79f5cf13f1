import { afterAll, expect, test } from "bun:test";
import { createLogger } from "../../src/observability/log.ts";
import { serviceEnv, startEmulator, startInProcess, tempDir, TEST_SECRET, waitFor } from "../helpers.ts";

// Telegram calls webhooks on 443, 80, 88 or 8443; nothing listens on 127.0.0.1:8443 here, so
// deliveries fail fast and Telegram's last_error_message gets filled.
const PUBLIC_URL = "https://127.0.0.1:8443";
const HOOK_URL = `${PUBLIC_URL}/telegram/webhook`;

const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
afterAll(() => {
  emulator.stop();
  dir.cleanup();
});

function capture() {
  const lines: string[] = [];
  return { lines, logger: createLogger("debug", [], (line) => void lines.push(line)) };
}

async function startWebhookService(dbName: string, extra: Record<string, string> = {}) {
  const log = capture();
  const service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/${dbName}`, { PUBLIC_URL, ...extra }), { logger: log.logger });
  return { service, ...log };
}

async function webhookInfo(): Promise<Record<string, unknown>> {
  const response = await emulator.fetch(new Request(`http://emulator/bot${emulator.token}/getWebhookInfo`));
  return ((await response.json()) as { result: Record<string, unknown> }).result;
}

test("webhook mode with PUBLIC_URL: setWebhook on start with the url, secret, max_connections and allowed_updates; skipped on a restart with the same settings", async () => {
  const sets = () => emulator.callsOf("setWebhook").length;
  const infos = () => emulator.callsOf("getWebhookInfo").length;
  const extra = { MAX_CONNECTIONS: "7", ALLOWED_UPDATES: "message,callback_query" };

  const first = await startWebhookService("a.db", extra);
  await waitFor(() => sets() === 1, "setWebhook on start");
  const call = emulator.callsOf("setWebhook")[0]!;
  expect(call.params).toMatchObject({ url: HOOK_URL, secret_token: TEST_SECRET, max_connections: 7, allowed_updates: ["message", "callback_query"] });
  expect(call.params.certificate).toBeUndefined();
  await waitFor(() => first.lines.some((l) => l.includes('"msg":"webhook: set"') && l.includes(HOOK_URL)), "the log line of the set webhook");
  await first.service.stop();

  // Same url, settings and secret: only getWebhookInfo.
  const infosBefore = infos();
  const second = await startWebhookService("a.db", extra);
  await waitFor(() => second.lines.some((l) => l.includes("already set as configured")), "the 'already set' log line");
  expect(infos()).toBe(infosBefore + 1);
  expect(sets()).toBe(1);
  await second.service.stop();

  // A changed setting is sent again.
  const third = await startWebhookService("a.db", { ...extra, MAX_CONNECTIONS: "9" });
  await waitFor(() => sets() === 2, "setWebhook after MAX_CONNECTIONS changed");
  expect(emulator.callsOf("setWebhook")[1]!.params.max_connections).toBe(9);
  expect(third.lines.find((l) => l.includes('"msg":"webhook: set"'))).toContain("max_connections differs");
  await third.service.stop();

  // So is a changed secret, which getWebhookInfo cannot show.
  const fourth = await startWebhookService("a.db", { ...extra, MAX_CONNECTIONS: "9", WEBHOOK_SECRET: "another-secret_123" });
  await waitFor(() => sets() === 3, "setWebhook after WEBHOOK_SECRET changed");
  expect(emulator.callsOf("setWebhook")[2]!.params.secret_token).toBe("another-secret_123");
  expect(fourth.lines.find((l) => l.includes('"msg":"webhook: set"'))).toContain("secret");
  await fourth.service.stop();
});

test("Telegram's last delivery error is logged on start", async () => {
  // Deliveries to the unreachable URL fail; the emulator records the error as Telegram does.
  emulator.sendText({ id: 3001, first_name: "Ula" }, "nobody listens");
  await waitFor(async () => typeof (await webhookInfo()).last_error_message === "string", "a delivery error at Telegram");
  const { service, lines } = await startWebhookService("a.db", { MAX_CONNECTIONS: "9", ALLOWED_UPDATES: "message,callback_query", WEBHOOK_SECRET: "another-secret_123" });
  try {
    const line = await waitFor(() => lines.find((l) => l.includes("already set as configured")), "the start-up webhook log line");
    expect(line).toContain('"level":"warn"');
    expect(line).toContain("last_error_message");
    expect(line).toContain("Connection refused");
  } finally {
    await service.stop();
  }
});

test("TLS_CERT_PATH: the certificate is uploaded with setWebhook, a restart with it set skips setWebhook, a renewed one is uploaded again", async () => {
  const cert = `${dir.path}/cert.pem`;
  const key = `${dir.path}/key.pem`;
  const openssl = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1"], {
    stderr: "pipe",
  });
  expect(openssl.exitCode).toBe(0);
  const extra = { TLS_CERT_PATH: cert, TLS_KEY_PATH: key };
  const before = emulator.callsOf("setWebhook").length;
  const first = await startWebhookService("tls.db", extra);
  expect(first.service.url.startsWith("https://")).toBe(true);
  await waitFor(() => emulator.callsOf("setWebhook").length === before + 1, "setWebhook with the certificate");
  expect(emulator.callsOf("setWebhook").at(-1)!.params.certificate).toBe("(file)");
  expect((await webhookInfo()).has_custom_certificate).toBe(true);
  // The emulator counts the call before timbre has its answer and stores what it set: stopping
  // before that would leave nothing stored, and the restart would rightly set the webhook again.
  await waitFor(() => first.lines.some((l) => l.includes('"webhook: set"')), "the first start's 'webhook: set' log line");
  await first.service.stop();

  const second = await startWebhookService("tls.db", extra);
  await waitFor(() => second.lines.some((l) => l.includes("already set as configured")), "the 'already set' log line");
  expect(emulator.callsOf("setWebhook").length).toBe(before + 1);
  await second.service.stop();

  // A renewed certificate at the same path: Telegram only says "has a custom certificate", so
  // timbre must notice the change itself and upload the new one.
  const renew = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "3", "-subj", "/CN=127.0.0.1"], {
    stderr: "pipe",
  });
  expect(renew.exitCode).toBe(0);
  const third = await startWebhookService("tls.db", extra);
  await waitFor(() => emulator.callsOf("setWebhook").length === before + 2, "setWebhook with the renewed certificate");
  // The log line follows Telegram's answer to setWebhook.
  await waitFor(() => third.lines.some((l) => l.includes("the certificate may differ")), "the log line saying why setWebhook ran");
  await third.service.stop();
});

test("webhook mode without PUBLIC_URL leaves the webhook alone", async () => {
  const before = emulator.calls.length;
  const log = capture();
  const service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/none.db`), { logger: log.logger });
  try {
    expect(log.lines.some((l) => l.includes("without PUBLIC_URL"))).toBe(true);
    expect(emulator.calls.slice(before).filter((c) => c.method === "setWebhook" || c.method === "deleteWebhook")).toHaveLength(0);
  } finally {
    await service.stop();
  }
});

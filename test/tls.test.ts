/**
 * HTTPS without a proxy, on the compiled binary: with TLS_CERT_PATH/TLS_KEY_PATH it serves
 * HTTPS itself, uploads the self-signed certificate with setWebhook (as Telegram requires for
 * one), and an update posted over HTTPS is echoed through the emulator.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { postUpdate, serviceEnv, spawnService, startEmulator, tempDir, TEST_SECRET, textUpdate, waitFor, type SpawnedService } from "./helpers.ts";
import { builtBinary, runBinary } from "./binary/build.ts";

const { emulator, apiUrl } = startEmulator(5);
const dir = tempDir();
const certPath = join(dir.path, "cert.pem");
const keyPath = join(dir.path, "key.pem");
const PUBLIC_URL = "https://127.0.0.1:8443";

/** Certificates as Telegram receives them: a stand-in in front of the emulator keeps each uploaded file. */
const uploaded: { method: string; name: string; text: string }[] = [];
const front = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(request) {
    if ((request.headers.get("content-type") ?? "").includes("multipart/form-data")) {
      const form = await request.clone().formData();
      const method = new URL(request.url).pathname.split("/").at(-1)!;
      for (const [name, value] of form.entries()) if (typeof value !== "string") uploaded.push({ method, name, text: await (value as Blob).text() });
    }
    return emulator.fetch(request);
  },
});
const frontUrl = apiUrl.replace(/:\d+$/, `:${front.port}`);

let binary: string;
let service: SpawnedService;

beforeAll(async () => {
  const openssl = Bun.spawnSync(
    ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyPath, "-out", certPath, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
    { stdout: "pipe", stderr: "pipe" },
  );
  if (openssl.exitCode !== 0) throw new Error(`openssl failed: ${openssl.stderr.toString()}`);
  binary = (await builtBinary()).outfile;
  const env = serviceEnv(emulator, frontUrl, "./timbre.db", {
    AGENT: "echo",
    SEND_RATE_PER_CHAT: "1000",
    SEND_RATE_GLOBAL: "1000",
    TLS_CERT_PATH: certPath,
    TLS_KEY_PATH: keyPath,
    PUBLIC_URL,
  });
  service = await spawnService(env, [binary], dir.path);
});

afterAll(async () => {
  if (service) expect(await service.terminate()).toBe(0);
  front.stop(true);
  emulator.stop();
  dir.cleanup();
});

test("the binary serves HTTPS itself with the certificate and key it is given", async () => {
  expect(service.url).toStartWith("https://127.0.0.1:");
  // Trusting exactly the self-signed certificate: a real TLS handshake, verified.
  const health = await fetch(`${service.url}/healthz`, { tls: { ca: readFileSync(certPath, "utf8") } });
  expect(health.status).toBe(200);
  // Plain HTTP on the HTTPS port is not served.
  const plain = await fetch(service.url.replace("https://", "http://") + "/healthz").then(
    (r) => r.status,
    () => "refused",
  );
  expect(plain).not.toBe(200);
});

test("setWebhook on start uploads the self-signed certificate with the PUBLIC_URL webhook and the secret", async () => {
  const call = await waitFor(() => emulator.callsOf("setWebhook").find((c) => c.status === 200), "setWebhook on start");
  expect(call.params).toMatchObject({ url: `${PUBLIC_URL}/telegram/webhook`, secret_token: TEST_SECRET, certificate: "(file)" });
  const certificate = uploaded.find((u) => u.method === "setWebhook" && u.name === "certificate");
  expect(certificate?.text).toBe(readFileSync(certPath, "utf8"));
  const info = await (await emulator.fetch(new Request(`http://emulator/bot${emulator.token}/getWebhookInfo`))).json();
  expect(info).toMatchObject({ ok: true, result: { url: `${PUBLIC_URL}/telegram/webhook`, has_custom_certificate: true } });
});

test("an update posted over HTTPS is stored, answered 200 and echoed through the emulator", async () => {
  const user = { id: 8801, first_name: "Tls" };
  // Bun's fetch takes `tls`; postUpdate passes its init through.
  const response = await postUpdate(service.url, textUpdate(user, "over https ✓", 880_001), TEST_SECRET, { tls: { ca: readFileSync(certPath, "utf8") } } as RequestInit);
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ ok: true });
  const sent = await waitFor(() => emulator.sentTo(user.id)[0], "the echo of the HTTPS update");
  expect(sent.text).toBe("over https ✓");
});

test("a PUBLIC_URL on a port Telegram does not call is refused at start with the allowed ports", () => {
  const result = runBinary(binary, [], dir.path, { PUBLIC_URL: "https://bot.example.com:8080", DATABASE_PATH: "./refused.db" });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain("PUBLIC_URL");
  expect(result.stderr).toContain("443, 80, 88, 8443");
});

test("sandbox mode behind the self-signed certificate: the page is served over HTTPS and the bot still answers", async () => {
  const sandbox = await spawnService({ HOST: "127.0.0.1", PORT: "0", AGENT: "echo", LOG_LEVEL: "warn", DATABASE_PATH: "./sandbox.db", TLS_CERT_PATH: certPath, TLS_KEY_PATH: keyPath }, [binary], dir.path);
  const tls = { ca: readFileSync(certPath, "utf8") };
  try {
    expect(sandbox.url).toStartWith("https://");
    expect(sandbox.output()).toContain(`open https://localhost:`);
    expect((await fetch(`${sandbox.url}/sandbox`, { tls })).status).toBe(200);
    const user = { id: 8802, first_name: "Sandy" };
    const send = await fetch(`${sandbox.url}/sandbox/send`, { tls, method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user, text: "hi over https" }) });
    expect(send.status).toBe(200);
    await waitFor(async () => {
      const history = (await (await fetch(`${sandbox.url}/sandbox/history`, { tls })).json()) as { chats: { chat_id: number; messages: { side: string; text: string }[] }[] };
      return history.chats.find((c) => c.chat_id === user.id)?.messages.some((m) => m.side === "bot" && m.text === "hi over https");
    }, "the bot's echo in the sandbox over HTTPS");
  } finally {
    expect(await sandbox.terminate()).toBe(0);
  }
});

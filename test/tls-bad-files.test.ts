// A TLS_CERT_PATH or TLS_KEY_PATH file that is not PEM, or a folder, or PEM that OpenSSL cannot
// use, stops the start with one line naming the TLS variables (it named PORT and HOST).
import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runToExit, tempDir } from "./helpers.ts";

const TOKEN = "123456:ABC-def_ghi";

function env(dir: string, cert: string, key: string): Record<string, string> {
  return {
    TELEGRAM_BOT_TOKEN: TOKEN,
    // Nothing listens here: the start must fail before Telegram matters.
    TELEGRAM_API_URL: "http://127.0.0.1:9",
    DATABASE_PATH: join(dir, "timbre.db"),
    HOST: "127.0.0.1",
    PORT: "0",
    TLS_CERT_PATH: cert,
    TLS_KEY_PATH: key,
    LOG_LEVEL: "error",
  };
}

test("a TLS_CERT_PATH/TLS_KEY_PATH file that is not PEM stops the start with one line naming the TLS variable, not PORT", async () => {
  const dir = tempDir("timbre-tls-");
  try {
    const bad = join(dir.path, "not-a-cert.pem");
    writeFileSync(bad, "this is not a PEM certificate\n");
    const { code, stderr } = await runToExit(env(dir.path, bad, bad));
    expect(code).toBe(1);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(/TLS_(CERT|KEY)_PATH/);
    expect(stderr).not.toMatch(/could not listen on PORT=/);
  } finally {
    dir.cleanup();
  }
});

test("a TLS_CERT_PATH that is a folder stops the start with one line naming TLS_CERT_PATH", async () => {
  const dir = tempDir("timbre-tls-");
  try {
    const folder = join(dir.path, "certs");
    mkdirSync(folder);
    const { code, stderr } = await runToExit(env(dir.path, folder, folder));
    expect(code).toBe(1);
    expect(stderr).toMatch(/TLS_(CERT|KEY)_PATH/);
    expect(stderr).not.toMatch(/could not listen on PORT=/);
  } finally {
    dir.cleanup();
  }
});

test("PEM files OpenSSL cannot use stop the start with one line naming both TLS variables", async () => {
  const dir = tempDir("timbre-tls-");
  try {
    const junk = join(dir.path, "junk.pem");
    writeFileSync(junk, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
    const { code, stderr } = await runToExit(env(dir.path, junk, junk));
    expect(code).toBe(1);
    expect(stderr).toContain("TLS_CERT_PATH and TLS_KEY_PATH: the certificate or key cannot be used");
    expect(stderr).not.toMatch(/could not listen on PORT=/);
  } finally {
    dir.cleanup();
  }
});


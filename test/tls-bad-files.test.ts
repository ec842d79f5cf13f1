// A TLS_CERT_PATH or TLS_KEY_PATH file that is not PEM, or a folder, or PEM that OpenSSL cannot
// use, stops the start with one line naming the TLS variables (it named PORT and HOST).
import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runToExit, tempDir } from "./helpers.ts";

const TOKEN = "123456:ABC-def_ghi";

/** Starts timbre with both TLS variables set to the path `make` creates in a fresh folder; its exit code and stderr. */
async function startWithTlsFile(make: (dir: string) => string): Promise<{ code: number; stderr: string }> {
  const dir = tempDir("timbre-tls-");
  try {
    const path = make(dir.path);
    return await runToExit({
      TELEGRAM_BOT_TOKEN: TOKEN,
      // Nothing listens here: the start must fail before Telegram matters.
      TELEGRAM_API_URL: "http://127.0.0.1:9",
      DATABASE_PATH: join(dir.path, "timbre.db"),
      HOST: "127.0.0.1",
      PORT: "0",
      TLS_CERT_PATH: path,
      TLS_KEY_PATH: path,
      LOG_LEVEL: "error",
    });
  } finally {
    dir.cleanup();
  }
}

test("a TLS_CERT_PATH/TLS_KEY_PATH file that is not PEM stops the start with one line naming the TLS variable, not PORT", async () => {
  const { code, stderr } = await startWithTlsFile((dir) => {
    const bad = join(dir, "not-a-cert.pem");
    writeFileSync(bad, "this is not a PEM certificate\n");
    return bad;
  });
  expect(code).toBe(1);
  expect(stderr.trim().split("\n")).toHaveLength(1);
  expect(stderr).toMatch(/TLS_(CERT|KEY)_PATH/);
  expect(stderr).not.toMatch(/could not listen on PORT=/);
});

test("a TLS_CERT_PATH that is a folder stops the start with one line naming TLS_CERT_PATH", async () => {
  const { code, stderr } = await startWithTlsFile((dir) => {
    const folder = join(dir, "certs");
    mkdirSync(folder);
    return folder;
  });
  expect(code).toBe(1);
  expect(stderr).toMatch(/TLS_(CERT|KEY)_PATH/);
  expect(stderr).not.toMatch(/could not listen on PORT=/);
});

test("PEM files OpenSSL cannot use stop the start with one line naming both TLS variables", async () => {
  const { code, stderr } = await startWithTlsFile((dir) => {
    const junk = join(dir, "junk.pem");
    writeFileSync(junk, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
    return junk;
  });
  expect(code).toBe(1);
  expect(stderr).toContain("TLS_CERT_PATH and TLS_KEY_PATH: the certificate or key cannot be used");
  expect(stderr).not.toMatch(/could not listen on PORT=/);
});

/**
 * README "Managing the webhook" 1: on start timbre reads getWebhookInfo and calls setWebhook;
 * "The outcome is logged ... While Telegram is unreachable it retries with backoff." A
 * getWebhookInfo answer that is not a WebhookInfo (`{"ok":true,"result":null}`) must be a logged
 * failure, not an unhandled rejection that kills the serving process (exit 1 with a stack trace,
 * dropping the runs and sends in flight).
 */
import { afterAll, expect, test } from "bun:test";
import { spawnService, startEmulator, tempDir, TEST_SECRET, waitFor, type SpawnedService } from "../helpers.ts";

const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
let child: SpawnedService | undefined;
afterAll(async () => {
  if (child && child.proc.exitCode === null) await child.kill9();
  emulator.stop();
  dir.cleanup();
});

test("a malformed getWebhookInfo answer on start does not crash the service", async () => {
  emulator.faults = {
    ...emulator.faults,
    methods: ["getWebhookInfo"],
    rawAnswers: [{ status: 200, body: '{"ok":true,"result":null}', contentType: "application/json" }],
  };
  child = await spawnService({
    TELEGRAM_BOT_TOKEN: emulator.token,
    TELEGRAM_API_URL: apiUrl,
    DATABASE_PATH: `${dir.path}/timbre.db`,
    HOST: "127.0.0.1",
    PORT: "0",
    WEBHOOK_SECRET: TEST_SECRET,
    PUBLIC_URL: "https://bot.example.com",
    AGENT: "echo",
  });
  const proc = child.proc;
  // Either the service handles the bad answer (logs the failure, or retries and sets the webhook) or it dies.
  await waitFor(
    () => proc.exitCode !== null || emulator.callsOf("setWebhook").length > 0 || child!.output().includes("getWebhookInfo failed"),
    "the service to handle the malformed getWebhookInfo answer",
    15_000,
  );
  if (proc.exitCode !== null) throw new Error(`the service exited ${proc.exitCode}:\n${child.output().split("\n").slice(-12).join("\n")}`);
  expect((await fetch(`${child.url}/healthz`)).status).toBe(200);
}, 30_000);

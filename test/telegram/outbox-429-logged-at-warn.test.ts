/**
 * docs/operations.md, "Logs": "`LOG_LEVEL` (`debug`, `info` default, `warn`, `error`) drops the lines
 * below it. ... At `warn` you see retries and storage trouble, at `error` what needs a person".
 *
 * A send Telegram answers with 429 is a retry (it counts in timbre_outbox_retries_total{reason="429"}
 * and is sent again after retry_after), but its only log line,
 * "outbox: rate limited by Telegram, pausing the chat", is logged at debug
 * (src/telegram/outbox-outcomes.ts, log.debug): at LOG_LEVEL=warn the retry leaves no line.
 */
import { afterAll, expect, test } from "bun:test";
import { connectWebhook, serviceEnv, startEmulator, startInProcess, tempDir, waitFor } from "../helpers.ts";
import { capturingLogger, newUser } from "../runtime/support.ts";

const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
afterAll(() => {
  emulator.stop();
  dir.cleanup();
});

test("an outbox retry after a 429 is logged at warn or above", async () => {
  const log = capturingLogger();
  const service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { AGENT: "echo", SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "10000" }), { logger: log });
  try {
    await connectWebhook(emulator, service.url);
    emulator.faults.methods = ["sendMessage"];
    emulator.faults.retryAfter = 1;
    emulator.faults.rate429 = 1;
    const ann = newUser("Ann");
    emulator.sendText(ann, "limited");
    await waitFor(() => service.metrics.outboxRetries.get({ reason: "429" }) >= 1, "a 429 retry");
    emulator.faults.rate429 = 0;
    await waitFor(() => emulator.sentTo(ann.id).length === 1, "the echo after retry_after", 10_000);

    const retryLines = log.lines.filter((line) => line.chat_id === ann.id && String(line.msg).startsWith("outbox:"));
    expect(retryLines.length).toBeGreaterThan(0);
    // What LOG_LEVEL=warn keeps of them.
    expect(retryLines.filter((line) => line.level === "warn" || line.level === "error").length).toBeGreaterThan(0);
  } finally {
    await service.stop();
  }
}, 30_000);

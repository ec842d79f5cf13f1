/**
 * README "Polling mode": only a 401 stops polling ("After a 401 the process keeps running on
 * purpose"); network errors, 5xx, 409, 429 and odd answers are retried. One getUpdates answer
 * `{"ok":true,"result":null}` (a proxy or Bot API server answering something that is not an
 * Update array) must not end polling for good: later updates must still be taken.
 */
import { afterAll, expect, test } from "bun:test";
import { createLogger } from "../../src/observability/log.ts";
import { serviceEnv, startEmulator, startInProcess, tempDir, waitFor } from "../helpers.ts";

const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
afterAll(() => {
  emulator.stop();
  dir.cleanup();
});

test("a getUpdates answer whose result is null is retried like any bad answer; polling goes on and later updates are handled", async () => {
  const lines: string[] = [];
  const logger = createLogger("debug", [], (line) => void lines.push(line));
  emulator.faults = {
    ...emulator.faults,
    methods: ["getUpdates"],
    rawAnswers: [{ status: 200, body: '{"ok":true,"result":null}', contentType: "application/json" }],
  };
  const service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { BOT_MODE: "polling", AGENT: "echo", SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }), {
    logger,
    pollTiming: { backoffBaseMs: 20, backoffCapMs: 200, slowRetryMs: 300 },
  });
  try {
    await waitFor(() => emulator.callsOf("getUpdates").length >= 1, "the first (malformed) getUpdates answer");
    const user = { id: 4401, first_name: "Nia" };
    emulator.sendText(user, "after a malformed answer");
    await waitFor(() => emulator.sentTo(user.id).length === 1 || service.poller?.state === "stopped", "the echo (or the poller giving up)");
    expect(lines.filter((line) => line.includes("stopped by an unexpected error"))).toEqual([]);
    expect(service.poller?.state).not.toBe("stopped");
    await waitFor(() => emulator.sentTo(user.id).length === 1, "the echo of the update sent after the malformed answer");
  } finally {
    await service.stop();
  }
}, 30_000);

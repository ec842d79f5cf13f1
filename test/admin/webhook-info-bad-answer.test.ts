/**
 * SPEC "HTTP routes": "An admin route whose Telegram call fails (Telegram's error, 5xx, network)
 * answers 502 with the cause in error", also when the answer is not the Bot API's answer to the
 * call (a proxy's `{"ok":true,"result":null}`): not a 400, which would blame the caller's request.
 */
import { expect, test } from "bun:test";
import { serviceRig } from "../helpers.ts";

const ADMIN_TOKEN = "admin-token-for-audit_0123456789";
const rig = serviceRig();

test("GET /admin/webhook: a getWebhookInfo answer that is not a WebhookInfo is a 502 about Telegram's answer, not a 400 about the request", async () => {
  const service = await rig.start({ ADMIN_TOKEN, AGENT: "echo" });
  rig.emulator.faults = {
    ...rig.emulator.faults,
    methods: ["getWebhookInfo"],
    rawAnswers: [{ status: 200, body: '{"ok":true,"result":null}', contentType: "application/json" }],
  };
  const response = await fetch(`${service.url}/admin/webhook`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const answer = (await response.json()) as { ok: boolean; error: string };
  expect({ status: response.status, error: answer.error }).toMatchObject({ status: 502 });
  expect(answer.ok).toBe(false);
  expect(answer.error).toBe("Telegram's answer to getWebhookInfo could not be used: HTTP 200: ok, but its result is not a WebhookInfo object (result: null)");
});

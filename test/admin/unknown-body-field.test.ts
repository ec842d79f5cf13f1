/**
 * README "Admin API": "a bad parameter, query or body is 400, also a body field the route does
 * not take". A misspelt field is never dropped silently: `{"webhook_url": ...}` would point the
 * webhook at {PUBLIC_URL}/telegram/webhook, `{"drop_pending": true}` would keep the pending
 * updates the operator meant to drop.
 */
import { expect, test } from "bun:test";
import { serviceRig, waitFor } from "../helpers.ts";

const ADMIN_TOKEN = "admin-token-for-audit_0123456789";
const rig = serviceRig();

test("PUT /admin/webhook with a field it does not know is 400 naming the field, and nothing is sent to Telegram", async () => {
  const service = await rig.start({ ADMIN_TOKEN, AGENT: "echo", PUBLIC_URL: "https://bot.example.com" });
  // The start-up setWebhook (PUBLIC_URL) runs in the background: let it finish before counting calls.
  await waitFor(() => rig.emulator.callsOf("setWebhook").some((call) => call.params.url === "https://bot.example.com/telegram/webhook"), "the start-up setWebhook");
  const headers = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
  for (const [body, field] of [
    ['{"webhook_url":"https://other.example.com/hook"}', "webhook_url"],
    ['{"url":"https://bot.example.com/telegram/webhook","drop_pending":true}', "drop_pending"],
  ] as const) {
    const before = rig.emulator.callsOf("setWebhook").length;
    const response = await fetch(`${service.url}/admin/webhook`, { method: "PUT", headers, body });
    const answer = (await response.json()) as { ok: boolean; error?: string };
    expect({ body, status: response.status }).toEqual({ body, status: 400 });
    expect(answer.error).toContain(field);
    expect(rig.emulator.callsOf("setWebhook").length).toBe(before);
  }
});

test("POST /admin/backup with a field it does not take is 400 naming the field, and writes nothing", async () => {
  const service = await rig.start({ ADMIN_TOKEN, AGENT: "echo" });
  const path = `${rig.dir.path}/never-written.db`;
  const response = await fetch(`${service.url}/admin/backup`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ path, overwrite: true }),
  });
  expect(response.status).toBe(400);
  expect(((await response.json()) as { error: string }).error).toContain("overwrite");
  expect(await Bun.file(path).exists()).toBe(false);
});

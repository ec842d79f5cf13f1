/**
 * README "Admin API": "a bad parameter, query or body is 400, also a body field the route does
 * not take (a misspelt `drop_pending`: never ignored)". SPEC "HTTP routes": "`DELETE
 * /admin/webhook` | deleteWebhook; query `drop_pending_updates`".
 *
 * DELETE /admin/webhook takes no body: an operator who sends `{"drop_pending_updates":true}` as
 * a JSON body (as PUT takes it) must get a 400 naming the field, not a 200 whose deleteWebhook
 * silently keeps the pending updates the operator meant to drop.
 */
import { expect, test } from "bun:test";
import { serviceRig } from "../helpers.ts";

const ADMIN_TOKEN = "admin-token-for-audit_0123456789";
const rig = serviceRig();

test("DELETE /admin/webhook with a JSON body field it does not take is 400 naming it, and nothing is sent to Telegram", async () => {
  const service = await rig.start({ ADMIN_TOKEN, AGENT: "echo" });
  const before = rig.emulator.callsOf("deleteWebhook").length;
  const response = await fetch(`${service.url}/admin/webhook`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ drop_pending_updates: true }),
  });
  const answer = (await response.json()) as { ok: boolean; error?: string };
  const sent = rig.emulator.callsOf("deleteWebhook").slice(before).map((call) => call.params);
  expect({ status: response.status, sent }).toEqual({ status: 400, sent: [] });
  expect(answer.ok).toBe(false);
  expect(answer.error).toContain("drop_pending_updates");
});

test("the POST routes that take no body (retry, cancel) refuse a body field too, and change nothing", async () => {
  const service = await rig.start({ ADMIN_TOKEN, AGENT: "echo" });
  for (const path of ["/admin/updates/1/retry", "/admin/outbox/1/retry", "/admin/runs/1/cancel"]) {
    const response = await fetch(`${service.url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ force: true }),
    });
    const answer = (await response.json()) as { ok: boolean; error?: string };
    expect({ path, status: response.status }).toEqual({ path, status: 400 });
    expect(answer.error).toContain("force");
  }
});

/**
 * README "Admin API": "a bad parameter, query or body is 400 ... never ignored". The routes that
 * take no query answered 200 to one and ignored it: `PUT /admin/webhook?drop_pending_updates=true`
 * (as DELETE takes it) set the webhook and kept the pending updates the operator meant to drop.
 * Each now refuses a query parameter with a 400 naming it, before doing anything.
 */
import { expect, test } from "bun:test";
import { tempDir, serviceRig } from "../helpers.ts";

const ADMIN_TOKEN = "admin-token-for-queries_0123456789";
const rig = serviceRig();

test("PUT /admin/webhook?drop_pending_updates=true is 400 naming the parameter, and nothing is sent to Telegram", async () => {
  const service = await rig.start({ ADMIN_TOKEN, AGENT: "echo" });
  const before = rig.emulator.callsOf("setWebhook").length;
  const response = await fetch(`${service.url}/admin/webhook?drop_pending_updates=true`, {
    method: "PUT",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ url: `${service.url}/telegram/webhook` }),
  });
  const answer = (await response.json()) as { ok: boolean; error: string };
  expect({ status: response.status, sent: rig.emulator.callsOf("setWebhook").length - before }).toEqual({ status: 400, sent: 0 });
  expect(answer.error).toContain("drop_pending_updates");
});

test("every other route that takes no query refuses one too", async () => {
  const service = await rig.start({ ADMIN_TOKEN, AGENT: "echo" });
  const dir = tempDir();
  try {
    const routes: [string, string, unknown?][] = [
      ["GET", "/admin/stats"],
      ["GET", "/admin/webhook"],
      ["GET", "/admin/runs/1"],
      ["POST", "/admin/runs/1/cancel"],
      ["POST", "/admin/updates/1/retry"],
      ["POST", "/admin/outbox/1/retry"],
      ["POST", "/admin/backup", { path: `${dir.path}/backup.db` }],
    ];
    for (const [method, path, body] of routes) {
      const response = await fetch(`${service.url}${path}?verbose=1`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const answer = (await response.json()) as { ok: boolean; error: string };
      expect({ route: `${method} ${path}`, status: response.status, names: answer.error.includes("verbose") }).toEqual({ route: `${method} ${path}`, status: 400, names: true });
    }
  } finally {
    dir.cleanup();
  }
});

/** Bearer auth on every admin route: 401 without the right token or with ADMIN_TOKEN unset, before anything else; the scheme is case-insensitive. */
import { describe, expect, test } from "bun:test";
import { serviceEnv, startInProcess } from "../helpers.ts";
import { ADMIN_TOKEN, admin, adminRoutesRig, AUTH, json, service } from "./routes-support.ts";

/** Every admin route, with ids that exist or not: auth is checked before anything else. */
const ROUTES: [string, string][] = [
  ["GET", "/admin/webhook"],
  ["PUT", "/admin/webhook"],
  ["DELETE", "/admin/webhook"],
  ["GET", "/admin/stats"],
  ["GET", "/admin/runs"],
  ["GET", "/admin/runs/1"],
  ["POST", "/admin/runs/1/cancel"],
  ["GET", "/admin/updates?status=failed"],
  ["POST", "/admin/updates/1/retry"],
  ["GET", "/admin/outbox?status=failed"],
  ["POST", "/admin/outbox/1/retry"],
];

const { emulator, apiUrl, dir } = adminRoutesRig();

describe("bearer auth", () => {
  test("every admin route answers 401 naming ADMIN_TOKEN without a token or with a wrong one, and does nothing", async () => {
    const deletesBefore = emulator.callsOf("deleteWebhook").length;
    for (const [method, path] of ROUTES) {
      for (const headers of [{}, { authorization: "Bearer wrong-token" }, { authorization: ADMIN_TOKEN }, { authorization: `Basic ${ADMIN_TOKEN}` }] as Record<string, string>[]) {
        const response = await fetch(`${service.url}${path}`, { method, headers });
        expect(response.status, `${method} ${path} with ${JSON.stringify(headers)}`).toBe(401);
        expect(response.headers.get("www-authenticate")).toContain("Bearer");
        const body = await json<{ ok: boolean; error: string }>(response);
        expect(body.ok).toBe(false);
        expect(body.error).toContain("ADMIN_TOKEN");
      }
      // A success forgets this address's failures, so the brute-force limit (429) is not what is tested here.
      expect((await admin("GET", "/admin/stats")).status).toBe(200);
    }
    // A refused request is refused before validation, too.
    expect((await fetch(`${service.url}/admin/runs?limit=abc`)).status).toBe(401);
    expect(emulator.callsOf("deleteWebhook").length).toBe(deletesBefore);
    expect((await admin("GET", "/admin/stats")).status).toBe(200);
  });

  test("with ADMIN_TOKEN unset every admin route answers 401 and says how to enable it", async () => {
    const other = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/no-admin.db`));
    try {
      for (const [method, path] of ROUTES) {
        const response = await fetch(`${other.url}${path}`, { method, headers: AUTH });
        expect(response.status).toBe(401);
        expect((await json<{ error: string }>(response)).error).toContain("set ADMIN_TOKEN");
      }
    } finally {
      await other.stop();
    }
  });

  test("the bearer scheme is case-insensitive and the right token is accepted", async () => {
    expect((await admin("GET", "/admin/stats", { headers: { authorization: `bearer ${ADMIN_TOKEN}` } })).status).toBe(200);
  });
});

/**
 * Audit: GET /admin/stats and GET /admin/webhook can answer 400, which their OpenAPI operations
 * (GET /swagger/json) do not declare. The admin onTransform hook refuses any repeated query
 * parameter (`?a=1&a=2`) and any malformed `limit`/`before`/`id` query with 400 on every admin
 * route, but the document lists only 200/401/429/503 for stats and 200/401/409/429/502/503 for
 * GET /admin/webhook.
 */
import { expect, test } from "bun:test";
import { admin, adminRoutesRig, json, service } from "./routes-support.ts";
import { declared, type Spec } from "./oas-check.ts";

adminRoutesRig();

test("every 400 GET /admin/stats and GET /admin/webhook really answer is declared in /swagger/json", async () => {
  const spec = (await (await fetch(`${service.url}/swagger/json`)).json()) as Spec;
  const answered: string[] = [];
  for (const [url, path] of [
    ["/admin/stats?a=1&a=2", "/admin/stats"],
    ["/admin/stats?limit=abc", "/admin/stats"],
    ["/admin/webhook?a=1&a=2", "/admin/webhook"],
  ] as const) {
    const response = await admin("GET", url);
    expect(response.status, url).toBe(400);
    expect(await json(response)).toMatchObject({ ok: false });
    if (!declared(spec, path, "get").includes("400")) answered.push(`GET ${url} -> 400 not in ${JSON.stringify(declared(spec, path, "get"))}`);
  }
  expect(answered).toEqual([]);
});

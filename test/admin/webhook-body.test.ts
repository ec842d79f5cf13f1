/**
 * PUT /admin/webhook takes `{url?, drop_pending_updates?, max_connections?, allowed_updates?}`. A
 * JSON body that is not an object is a bad body (400), not "no fields": with PUBLIC_URL set it
 * used to answer 200 and set the webhook to the default url, whatever url the array or string named.
 */
import { expect, test } from "bun:test";
import { serviceRig } from "../helpers.ts";
import { ADMIN_TOKEN, AUTH } from "./routes-support.ts";

const rig = serviceRig();

test("PUT /admin/webhook with an array, a string, a number or null as its body is 400, naming what it got", async () => {
  const service = await rig.start({ ADMIN_TOKEN, PUBLIC_URL: "https://bot.example.com" });
  for (const [body, what] of [
    ['["https://other.example.com/hook"]', "an array"],
    ['"https://other.example.com/hook"', "a string"],
    ["42", "a number"],
    ["null", "null"],
  ]) {
    const response = await fetch(`${service.url}/admin/webhook`, { method: "PUT", headers: { ...AUTH, "content-type": "application/json" }, body });
    expect(response.status).toBe(400);
    const answer = (await response.json()) as { ok: boolean; error: string };
    expect(answer.ok).toBe(false);
    expect(answer.error).toContain(`must be a JSON object of named fields (see /swagger), not ${what}`);
  }
  // An object still works.
  const ok = await fetch(`${service.url}/admin/webhook`, { method: "PUT", headers: { ...AUTH, "content-type": "application/json" }, body: "{}" });
  expect(ok.status).toBe(200);
});

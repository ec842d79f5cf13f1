/**
 * SPEC: an update_id is an integer from 0 to 2^53-1, and POST /admin/updates/{id}/retry puts a failed
 * update back: a 16-digit id is a whole number too (the admin digits check allows up to 2^53-1).
 */
import { expect, test } from "bun:test";
import { postUpdate, waitFor } from "../helpers.ts";
import { admin, adminRoutesRig, json, routesAgent, service } from "./routes-support.ts";

adminRoutesRig(routesAgent(() => true));

test("a failed update whose update_id has 16 digits (within 2^53-1) can be retried and paged past", async () => {
  const updateId = 1_234_567_890_123_456;
  const accepted = await postUpdate(service.url, {
    update_id: updateId,
    message: { message_id: 1, date: 1_700_000_000, chat: { id: 7001, type: "private", first_name: "Big" }, from: { id: 7001, is_bot: false, first_name: "Big" }, text: "boom" },
  });
  expect(accepted.status).toBe(200);
  await waitFor(async () => (await json<{ update_id: number }[]>(await admin("GET", "/admin/updates?status=failed"))).some((u) => u.update_id === updateId), "the update failed");

  const page = await admin("GET", `/admin/updates?before=${updateId + 1}`);
  expect({ status: page.status, body: await page.text() }).toMatchObject({ status: 200 });

  const retried = await admin("POST", `/admin/updates/${updateId}/retry`);
  expect({ status: retried.status, body: await retried.json() }).toEqual({ status: 200, body: { ok: true, update_id: updateId, status: "received" } });
});

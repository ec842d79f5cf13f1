/**
 * README "Admin API": "a bad parameter, query or body is 400 ... never ignored". A query parameter
 * given twice (`?status=failed&status=done`) was answered with one of the values, the other
 * silently dropped: a 400 naming it says which list the caller actually asked for.
 */
import { expect, test } from "bun:test";
import { serviceRig } from "../helpers.ts";

const ADMIN_TOKEN = "admin-token-for-query-tests_0123456789";
const rig = serviceRig();

test("a query parameter given twice is a 400 naming it, on every list route", async () => {
  const service = await rig.start({ ADMIN_TOKEN, AGENT: "echo" });
  const repeated = [
    ["/admin/runs?status=failed&status=done", "status"],
    ["/admin/updates?limit=5&limit=50", "limit"],
    ["/admin/outbox?before=9&status=failed&before=10", "before"],
  ] as const;
  for (const [path, name] of repeated) {
    const response = await fetch(`${service.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const answer = (await response.json()) as { ok?: boolean; error?: string };
    expect({ path, status: response.status, ok: answer.ok }).toEqual({ path, status: 400, ok: false });
    expect(answer.error).toBe(`${name} is given more than once; give it once`);
  }
});

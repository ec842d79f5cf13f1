/**
 * README "Admin API": "a bad parameter, query or body is 400". A backup path holding a NUL byte
 * (which no file system takes) answered 500 "internal error" and left a file behind: SQLite's
 * `VACUUM INTO` cut the name at the NUL and wrote `backup`, then statSync threw on the path.
 */
import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { serviceRig } from "../helpers.ts";

const ADMIN_TOKEN = "admin-token-for-backups_0123456789";
const rig = serviceRig();

test("POST /admin/backup with a NUL byte in path is a 400 naming the path, not a 500", async () => {
  const service = await rig.start({ ADMIN_TOKEN, AGENT: "echo" });
  const before = readdirSync(rig.dir.path).sort();
  const response = await fetch(`${service.url}/admin/backup`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ path: `${rig.dir.path}/backup\u0000.db` }),
  });
  const body = (await response.json()) as { ok: boolean; error: string };
  expect({ status: response.status, ok: body.ok, error: body.error }).toEqual({ status: 400, ok: false, error: expect.stringContaining("path") });
  expect(readdirSync(rig.dir.path).sort()).toEqual(before);
});

/**
 * When the SQLite database is locked by another writer (past busy_timeout), an admin write route
 * answered 500 "internal error" (http-app.ts's unhandled-error path), a status the OpenAPI
 * document does not declare for it. A locked, full or read-only database is a moment's trouble:
 * 503, declared, with a message saying so.
 */
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { waitFor } from "../helpers.ts";
import { admin, adminRoutesRig, json, routesAgent, service } from "./routes-support.ts";
import { declared, type Spec } from "./oas-check.ts";

const rig = adminRoutesRig(routesAgent(() => true));

test("POST /admin/updates/{id}/retry: the status it answers while the database is locked is declared", async () => {
  const spec = (await (await fetch(`${service.url}/swagger/json`)).json()) as Spec;
  const update = rig.emulator.sendText({ id: 7001, first_name: "Lo" }, "boom");
  await waitFor(async () => (await json<{ update_id: number }[]>(await admin("GET", "/admin/updates?status=failed"))).some((u) => u.update_id === update.update_id), "the failed update");

  const other = new Database(rig.dbPath);
  other.exec("PRAGMA busy_timeout = 0");
  other.exec("BEGIN IMMEDIATE");
  let status: number;
  try {
    const response = await admin("POST", `/admin/updates/${update.update_id}/retry`);
    status = response.status;
    expect(((await response.json()) as { error: string }).error).toStartWith("the database is busy or unavailable right now");
  } finally {
    other.exec("ROLLBACK");
    other.close();
  }
  expect(status).toBe(503);
  expect(declared(spec, "/admin/updates/{id}/retry", "post")).toContain(String(status));
}, 30_000);

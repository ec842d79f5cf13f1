/**
 * The OpenAPI document at /swagger/json marks every request body optional (openapi-tidy.ts sets
 * `required: false` on all of them), but POST /admin/backup cannot be called without one: its
 * `{path}` is required and a bodiless call is a 400. The document says a call the route refuses
 * is valid.
 */
import { expect, test } from "bun:test";
import { admin, adminRoutesRig, json, service } from "./routes-support.ts";

adminRoutesRig();

test("POST /admin/backup: a body the route requires is declared required in /swagger/json", async () => {
  const bodiless = await admin("POST", "/admin/backup");
  expect(bodiless.status).toBe(400);
  expect(await json(bodiless)).toMatchObject({ ok: false });

  const spec = (await (await fetch(`${service.url}/swagger/json`)).json()) as { paths: Record<string, Record<string, { requestBody?: { required?: boolean } }>> };
  const requestBody = spec.paths["/admin/backup"]!.post!.requestBody;
  expect(requestBody).toBeDefined();
  expect(requestBody!.required).toBe(true);
});

/**
 * SPEC "HTTP routes": /swagger/json is the "OpenAPI document of every admin route"; README
 * "Operations": "admin routes allow 10 wrong tokens per address per minute, then answer 429 with
 * `Retry-After`". Every admin route really answers 429 then, but no operation in the document
 * declares a 429 (nor its Retry-After header), so a client generated from it knows nothing of it.
 */
import { expect, test } from "bun:test";
import { adminRoutesRig, service } from "./routes-support.ts";

adminRoutesRig();

type Spec = { paths: Record<string, Record<string, { responses: Record<string, { headers?: Record<string, unknown> }> }>> };

test("the 429 every admin route answers after 10 wrong tokens is declared in the OpenAPI document", async () => {
  const spec = (await (await fetch(`${service.url}/swagger/json`)).json()) as Spec;

  let last: Response | undefined;
  for (let i = 0; i < 11; i++) last = await fetch(`${service.url}/admin/stats`, { headers: { authorization: "Bearer wrong-token" } });
  expect(last!.status).toBe(429);
  expect(last!.headers.get("retry-after")).not.toBeNull();
  expect(((await last!.json()) as { ok: boolean }).ok).toBe(false);

  const undeclared = Object.entries(spec.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([, op]) => op.responses["429"] === undefined)
      .map(([method]) => `${method.toUpperCase()} ${path}`),
  );
  expect(undeclared).toEqual([]);
});

/**
 * How the sandbox routes read their bodies. SPEC, HTTP routes: "Every error body is JSON
 * `{"ok":false,"error":"..."}` with a message a person can act on"; README, Sandbox: "For
 * scripts: ... `POST /sandbox/send` with `{"user":{...},"text":"hi"}`".
 *
 * A body nested 10,000 or 100,000 levels deep got a 500 "internal error" (the admin API refused
 * it; the sandbox routes had no such guard), and the README's JSON posted the way `curl -d` posts
 * it (a form Content-Type, or text/plain) was told "/user: Expected required property": Elysia
 * parsed by Content-Type. Both routes now read bodies as the admin API does (src/admin/json-body.ts).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startService, type Service } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/observability/log.ts";
import { tempDir } from "../helpers.ts";

const dir = tempDir();
let service: Service;

beforeAll(async () => {
  service = await startService(loadConfig({ DATABASE_PATH: `${dir.path}/timbre.db`, PORT: "0", HOST: "127.0.0.1", AGENT: "echo" }), { logger: silentLogger });
});

afterAll(async () => {
  await service?.stop();
  dir.cleanup();
});

const deep = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

async function post(path: string, body: string): Promise<{ status: number; body: { ok: boolean; error: string } }> {
  const response = await fetch(`${service.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body });
  return { status: response.status, body: (await response.json()) as { ok: boolean; error: string } };
}

test("a deeply nested JSON body to the sandbox routes is a 400, not a 500", async () => {
  for (const [path, body] of [
    ["/sandbox/send", `{"user":{"id":5,"first_name":"A"},"text":${deep(10_000)}}`],
    ["/sandbox/send", `{"user":${deep(100_000)},"text":"hi"}`],
    ["/sandbox/users", deep(100_000)],
    ["/sandbox/tap", `{"user":{"id":5,"first_name":"A"},"message_id":1,"button":${deep(10_000)}}`],
  ] as const) {
    const answer = await post(path, body);
    expect({ path, status: answer.status, ok: answer.body.ok }).toEqual({ path, status: 400, ok: false });
    expect(answer.body.error).not.toContain("internal error");
  }
  // The service is still fine afterwards.
  expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
});

const README_BODY = '{"user":{"id":1,"first_name":"Ana","language_code":"en"},"text":"hi"}';

test("POST /sandbox/send with the README's JSON but curl's default Content-Type is sent", async () => {
  for (const type of ["application/x-www-form-urlencoded", "text/plain"]) {
    const response = await fetch(`${service.url}/sandbox/send`, { method: "POST", headers: { "content-type": type }, body: README_BODY });
    expect({ type, status: response.status, ok: ((await response.json()) as { ok: boolean }).ok }).toEqual({ type, status: 200, ok: true });
  }
});

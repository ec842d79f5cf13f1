/**
 * SPEC.md, HTTP routes: "Every error body is JSON `{"ok":false,"error":"..."}` with a message a
 * person can act on." (README, Sandbox: `POST /sandbox/send` with
 * `{"user":{"id":1,"first_name":"Ana","language_code":"en"},"text":"hi"}`, `POST /sandbox/users` ...)
 *
 * A body that is valid JSON but nests arrays 10,000 deep where `text` (or the user) belongs is
 * bad input: a 400 naming the field. The sandbox routes answer 500 "internal error; see the
 * service log" instead (the validation error quotes the value and overflows the stack). The
 * admin API guards against exactly this (src/admin/routes.ts onParse, nestsDeeperThan); the
 * sandbox routes (src/sandbox/routes.ts) have no such guard.
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

/**
 * SPEC.md, HTTP routes: "Every error body is JSON `{"ok":false,"error":"..."}` with a message a
 * person can act on." README, Sandbox: "For scripts: ... `POST /sandbox/send` with
 * `{"user":{"id":1,"first_name":"Ana","language_code":"en"},"text":"hi"}`".
 *
 * A script that posts exactly that JSON the way `curl -d '...'` does (Content-Type
 * application/x-www-form-urlencoded) or with text/plain is told
 * `/user: Expected required property`: the user it did send is "missing", and nothing says that
 * the body was not read as JSON. The admin API reads bodies as JSON whatever their Content-Type
 * (src/admin/routes.ts onParse); the sandbox routes (src/sandbox/routes.ts) let Elysia parse by
 * Content-Type. Either the send works or the error must say what to fix (JSON / Content-Type).
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

const README_BODY = '{"user":{"id":1,"first_name":"Ana","language_code":"en"},"text":"hi"}';

test("POST /sandbox/send with the README's JSON but curl's default Content-Type is sent, or refused saying what to fix", async () => {
  for (const type of ["application/x-www-form-urlencoded", "text/plain"]) {
    const response = await fetch(`${service.url}/sandbox/send`, { method: "POST", headers: { "content-type": type }, body: README_BODY });
    const body = (await response.json()) as { ok: boolean; error?: string };
    if (response.status === 200) {
      expect(body.ok).toBe(true);
      continue;
    }
    // Refused: the message must not send the person looking for a user they did give.
    expect({ type, error: body.error }).toEqual({ type, error: expect.stringMatching(/json|content-type/i) });
  }
});

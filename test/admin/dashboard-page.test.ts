/** /admin/ui over HTTP: the page and its files load without the token, hold no data, load nothing from elsewhere. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startInProcess, tempDir, type Service } from "../helpers.ts";

const ADMIN_TOKEN = "admin-token-for-page-tests_0123456789";
const dir = tempDir();
let service: Service;

beforeAll(async () => {
  service = await startInProcess({ DATABASE_PATH: `${dir.path}/timbre.db`, HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "warn", ADMIN_TOKEN });
});

afterAll(async () => {
  await service.stop();
  dir.cleanup();
});

test("GET /admin/ui serves the page without the token, with a CSP that allows only its own scripts, styles and API calls", async () => {
  const response = await fetch(`${service.url}/admin/ui`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
  const csp = response.headers.get("content-security-policy")!;
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("connect-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain("unsafe-inline");
  expect(response.headers.get("referrer-policy")).toBe("no-referrer");
  const html = await response.text();
  expect(html).toContain('id="token"');
  // The token field has no name, so no form submission can put it in a URL.
  expect(html).not.toMatch(/<input[^>]*id="token"[^>]*name=/);
  expect(html).not.toMatch(/<script>|<style>| on[a-z]+="/); // nothing inline: the CSP would refuse it
});

test("every file the page and its scripts load is served from here, without the token; nothing comes from another origin", async () => {
  const html = await (await fetch(`${service.url}/admin/ui`)).text();
  const pending = [...html.matchAll(/(?:src|href)="(\/admin\/ui\/[^"]+)"/g)].map((m) => m[1]!);
  expect(pending).toEqual(expect.arrayContaining(["/admin/ui/page.css", "/admin/ui/page.js"]));
  const seen = new Set<string>();
  while (pending.length > 0) {
    const path = pending.pop()!;
    if (seen.has(path)) continue;
    seen.add(path);
    const response = await fetch(`${service.url}${path}`);
    expect(response.status, path).toBe(200);
    const body = await response.text();
    expect(body, path).not.toMatch(/https?:\/\//);
    expect(body.includes(ADMIN_TOKEN), path).toBe(false);
    // Module imports of the scripts, followed like the browser does.
    for (const [, name] of body.matchAll(/from "\.\/([^"]+)"/g)) pending.push(`/admin/ui/${name}`);
  }
  expect([...seen].sort()).toEqual(["/admin/ui/page-api.js", "/admin/ui/page-detail.js", "/admin/ui/page-dom.js", "/admin/ui/page-journal.js", "/admin/ui/page-lists.js", "/admin/ui/page.css", "/admin/ui/page.js"]);
});

test("only the page's own files skip the token: anything else under /admin/ui, and every admin route, still needs it", async () => {
  for (const path of ["/admin/ui/nope.js", "/admin/ui/../stats", "/admin/ui%2F..%2Fstats", "/admin/uix", "/admin/stats", "/admin/runs/1"]) {
    const response = await fetch(`${service.url}${path}`);
    expect(response.status, path).toBe(401);
    expect(((await response.json()) as { error: string }).error, path).toContain("ADMIN_TOKEN");
  }
});

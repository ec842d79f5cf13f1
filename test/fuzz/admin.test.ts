import { afterAll, beforeAll, expect, test } from "bun:test";
import fc from "fast-check";
import type { Agent } from "../../src/runtime/context.ts";
import { postUpdate, serviceEnv, startEmulator, startInProcess, tempDir, textUpdate, waitFor, type Service } from "../helpers.ts";
import { capturingLogger } from "../runtime/support.ts";
import { noInternalErrors, stillServes } from "./support.ts";

const ADMIN_TOKEN = "fuzz-admin-token-0123456789";
const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
const log = capturingLogger();
const dbPath = `${dir.path}/admin-fuzz.db`;
let service: Service;

const agent: Agent = async (ctx) => {
  if (ctx.text === "boom") throw new Error("failing on purpose");
  if (ctx.text === "ask") await ctx.ask("a question that stays open");
  if (ctx.text !== undefined) await ctx.reply(ctx.text);
};

beforeAll(async () => {
  service = await startInProcess(serviceEnv(emulator, apiUrl, dbPath, { ADMIN_TOKEN, SEND_RATE_PER_CHAT: "10000", SEND_RATE_GLOBAL: "10000" }), { logger: log, agent });
  // Something for the routes to show: done, failed and waiting runs, sent messages.
  const user = (id: number) => ({ id, first_name: "A" });
  for (const [id, chat, text] of [[1, 11, "hello"], [2, 12, "boom"], [3, 13, "ask"]] as const) {
    expect((await postUpdate(service.url, textUpdate(user(chat), text, id))).status).toBe(200);
  }
  await waitFor(() => service.runtime.counts().waiting === 1 && service.inbox.counts().failed === 1, "a failed update and a waiting run");
  // The echo, the failure notice and the question: all sent before the fuzzing compares snapshots.
  await waitFor(() => service.outbox.counts().sent === 3, "three messages sent");
});

afterAll(async () => {
  await service.stop();
  emulator.stop();
  dir.cleanup();
});

/** Rows of every table an admin request could change. */
function snapshot(): string {
  const sqlite = service.database.sqlite;
  const rows = (sql: string) => sqlite.query(sql).all();
  return JSON.stringify([
    rows("SELECT update_id, status, error FROM updates ORDER BY update_id"),
    rows("SELECT id, status FROM runs ORDER BY id"),
    rows("SELECT id, status FROM outbox WHERE status IN ('failed', 'sent') ORDER BY id"),
  ]);
}

const anyValue = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(2 ** 53, -1, 0, 1e308, "", "0", "-1", "1e3", "NaN", "Infinity", "true", "null", "[]", "{}", "%00", "../../etc/passwd"),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 2 }),
);
const idSegment = fc.oneof(fc.nat().map(String), fc.integer().map(String), anyValue.map((v) => encodeURIComponent(String(v))));
const path = fc.oneof(
  fc.constantFrom("/admin/webhook", "/admin/stats", "/admin/runs", "/admin/updates", "/admin/outbox", "/admin", "/admin/", "/admin/nope", "/admin//stats", "/admin/stats/extra"),
  idSegment.map((id) => `/admin/runs/${id}/cancel`),
  idSegment.map((id) => `/admin/updates/${id}/retry`),
  idSegment.map((id) => `/admin/runs/${id}`),
);
const query = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom("status", "limit", "before", "drop_pending_updates"), fc.string({ maxLength: 8 })), anyValue), { maxLength: 3 })
  .map((pairs) => (pairs.length ? "?" + pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(typeof v === "string" ? v : JSON.stringify(v) ?? "")}`).join("&") : ""));
const body = fc.oneof(
  fc.constant(undefined),
  fc.uint8Array({ maxLength: 300 }),
  fc.json({ maxDepth: 3 }),
  fc.record({ url: fc.oneof(anyValue, fc.webUrl()), drop_pending_updates: fc.oneof(anyValue, fc.boolean()), max_connections: anyValue, allowed_updates: anyValue }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
);
const contentType = fc.constantFrom(undefined, "application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x");
const method = fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH");
const ROUTES = [
  ["GET", "/admin/webhook"],
  ["PUT", "/admin/webhook"],
  ["DELETE", "/admin/webhook"],
  ["GET", "/admin/stats"],
  ["GET", "/admin/runs"],
  ["POST", "/admin/runs/:id/cancel"],
  ["GET", "/admin/updates"],
  ["POST", "/admin/updates/:id/retry"],
  ["GET", "/admin/outbox"],
] as const;

/** Routes whose answer comes from Telegram may say 502 when Telegram refuses; nothing may say 500 or crash. */
async function checkAdminRequest(request: { method: string; path: string; query: string; body: string | Uint8Array | undefined; contentType: string | undefined }) {
  const before = snapshot();
  const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_TOKEN}` };
  if (request.contentType) headers["content-type"] = request.contentType;
  const response = await fetch(`${service.url}${request.path}${request.query}`, {
    method: request.method,
    headers,
    ...(request.body !== undefined && request.method !== "GET" ? { body: request.body as BodyInit } : {}),
  });
  const text = await response.text();
  const where = `${request.method} ${request.path}${request.query} -> ${response.status} ${text.slice(0, 200)}`;
  expect(response.status >= 500 && !(response.status === 502 && request.path === "/admin/webhook") ? where : "").toBe("");
  if (response.status >= 400) {
    const answer = JSON.parse(text) as { ok?: unknown; error?: unknown };
    expect({ where, ok: answer.ok, hasError: typeof answer.error === "string" && answer.error.length > 5 }).toEqual({ where, ok: false, hasError: true });
    // A refused request changes nothing.
    expect(snapshot()).toBe(before);
  } else if (request.path !== "/admin/webhook") {
    expect(() => JSON.parse(text)).not.toThrow();
  }
}

test("random admin requests with the right token: never 5xx (except Telegram's 502), refusals change nothing", async () => {
  // Mostly real routes with their own method (so validation and handlers are reached), some anything.
  const route = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...ROUTES).chain(([m, p]) => (p.includes(":id") ? idSegment.map((id) => [m, p.replace(":id", id)] as const) : fc.constant([m, p] as const))) },
    { weight: 1, arbitrary: fc.tuple(method, path) },
  );
  await fc.assert(
    fc.asyncProperty(route, query, body, contentType, ([m, p], q, b, type) => checkAdminRequest({ method: m, path: p, query: q, body: b, contentType: type })),
    { numRuns: 500, seed: 424_242 },
  );
  // Update 2's failure was made on purpose in beforeAll.
  noInternalErrors(log.lines.filter((e) => e.update_id !== 2));
  await stillServes(service, emulator);
}, 60_000);

test("backup with bad bodies: 400 or 409, never a file written", async () => {
  const badBodies = fc.oneof(
    fc.constant(undefined),
    fc.uint8Array({ maxLength: 100 }),
    anyValue.filter((v) => typeof v !== "string").map((v) => JSON.stringify({ path: v })),
    fc.constantFrom("{}", '{"path": ""}', "[]", "null", JSON.stringify({ path: dbPath })),
  );
  await fc.assert(
    fc.asyncProperty(badBodies, contentType, async (requestBody, type) => {
      const response = await fetch(`${service.url}/admin/backup`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(type ? { "content-type": type } : {}) },
        ...(requestBody !== undefined ? { body: requestBody as BodyInit } : {}),
      });
      expect([400, 409]).toContain(response.status);
    }),
    { numRuns: 100, seed: 7 },
  );
  expect(await Array.fromAsync(new Bun.Glob("*").scan(dir.path))).toEqual(expect.arrayContaining(["admin-fuzz.db"]));
  expect((await Array.fromAsync(new Bun.Glob("*").scan(dir.path))).filter((f) => !f.startsWith("admin-fuzz.db"))).toEqual([]);
}, 30_000);

test("deeply nested bodies on every route with a body: 400, never a stack overflow", async () => {
  for (const depth of [200, 20_000, 200_000]) {
    const nested = "[".repeat(depth) + "]".repeat(depth);
    for (const [routeMethod, routePath] of [["PUT", "/admin/webhook"], ["POST", "/admin/backup"], ["POST", "/admin/runs/1/cancel"], ["POST", "/admin/updates/2/retry"]] as const) {
      for (const requestBody of [nested, `{"url": ${nested}}`, `{"path": ${nested}}`]) {
        const before = snapshot();
        const response = await fetch(`${service.url}${routePath}`, {
          method: routeMethod,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
          body: requestBody,
        });
        expect(`${routeMethod} ${routePath} depth ${depth}: ${response.status}`).toBe(`${routeMethod} ${routePath} depth ${depth}: 400`);
        expect(snapshot()).toBe(before);
      }
    }
  }
});

test("random Authorization headers: only 401 or 429, nothing revealed, nothing changed", async () => {
  const before = snapshot();
  const authorization = fc.oneof(
    fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`),
    fc.string({ unit: "binary-ascii", maxLength: 60 }).filter((s) => s !== `Bearer ${ADMIN_TOKEN}` && !/[\x00-\x1f\x7f]/.test(s)),
    fc.constantFrom(`Bearer ${ADMIN_TOKEN} `.slice(0, -2), `bearer  ${ADMIN_TOKEN}x`, `Basic ${btoa(`admin:${ADMIN_TOKEN}`)}`, ADMIN_TOKEN, "Bearer"),
  );
  await fc.assert(
    fc.asyncProperty(authorization, path, async (auth, route) => {
      let response: Response;
      try {
        response = await fetch(`${service.url}${route}`, { headers: { authorization: auth } });
      } catch {
        return; // a header value fetch itself refuses to send
      }
      expect([401, 429]).toContain(response.status);
      const answer = (await response.json()) as { ok: boolean; error: string };
      expect(answer.ok).toBe(false);
    }),
    { numRuns: 200, seed: 99 },
  );
  expect(snapshot()).toBe(before);
  await stillServes(service, emulator);
}, 30_000);

import { afterAll, beforeAll, expect, test } from "bun:test";
import pkg from "../../package.json";
import { startInProcess, tempDir, type Service } from "../helpers.ts";

/** Every admin route of SPEC (plus the outbox list), as OpenAPI paths. */
const ADMIN_OPERATIONS: [string, string][] = [
  ["/admin/webhook", "get"],
  ["/admin/webhook", "put"],
  ["/admin/webhook", "delete"],
  ["/admin/stats", "get"],
  ["/admin/runs", "get"],
  ["/admin/runs/{id}", "get"],
  ["/admin/runs/{id}/cancel", "post"],
  ["/admin/updates", "get"],
  ["/admin/updates/{id}/retry", "post"],
  ["/admin/outbox", "get"],
  ["/admin/outbox/{id}/retry", "post"],
  ["/admin/backup", "post"],
];

type Operation = {
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; schema: Record<string, unknown> }[];
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown; example?: unknown }> }>;
};
type OpenApi = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; scheme: string }> };
};

const dir = tempDir();
let service: Service;
let spec: OpenApi;

beforeAll(async () => {
  // Sandbox mode mounts the most routes (the emulator's among them); all but admin must stay out of the document.
  service = await startInProcess({ DATABASE_PATH: `${dir.path}/timbre.db`, HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "warn" });
  const response = await fetch(`${service.url}/swagger/json`);
  expect(response.status).toBe(200);
  spec = (await response.json()) as OpenApi;
});

afterAll(async () => {
  await service.stop();
  dir.cleanup();
});

test("the OpenAPI document lists exactly the admin routes, each with bearer security, summary, description, tags and its answers", () => {
  expect(spec.openapi).toStartWith("3.");
  expect(spec.info.version).toBe(pkg.version);
  expect(spec.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
  const listed = Object.entries(spec.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`));
  expect(listed.sort()).toEqual(ADMIN_OPERATIONS.map(([path, method]) => `${method} ${path}`).sort());

  for (const [path, method] of ADMIN_OPERATIONS) {
    const op = spec.paths[path]![method]!;
    const where = `${method} ${path}`;
    expect(op.security, where).toEqual([{ bearerAuth: [] }]);
    expect(op.summary?.length, where).toBeGreaterThan(5);
    expect(op.description?.length, where).toBeGreaterThan(20);
    expect(op.tags?.length, where).toBe(1);
    expect(Object.keys(op.responses), where).toContain("200");
    expect(Object.keys(op.responses), where).toContain("401");
    for (const [status, response] of Object.entries(op.responses)) {
      expect(response.description.length, `${where} ${status}`).toBeGreaterThan(0);
      // JSON only, with a schema and an example Swagger UI can show.
      expect(Object.keys(response.content ?? {}), `${where} ${status}`).toEqual(["application/json"]);
      expect(response.content!["application/json"]!.example, `${where} ${status}`).toBeDefined();
    }
  }
  expect(spec.paths["/admin/runs/{id}/cancel"]!.post!.responses).toHaveProperty("404");
  expect(spec.paths["/admin/runs/{id}/cancel"]!.post!.responses).toHaveProperty("409");
  expect(spec.paths["/admin/updates/{id}/retry"]!.post!.responses).toHaveProperty("409");
  expect(Object.keys(spec.paths["/admin/outbox/{id}/retry"]!.post!.responses).sort()).toEqual(["200", "400", "401", "404", "409", "429", "503"]);
  expect(spec.paths["/admin/outbox/{id}/retry"]!.post!.parameters!.find((p) => p.name === "id")).toMatchObject({ in: "path", schema: { type: "integer", minimum: 0 } });
  expect(Object.keys(spec.paths["/admin/runs/{id}"]!.get!.responses).sort()).toEqual(["200", "400", "401", "404", "429", "503"]);
  expect(spec.paths["/admin/webhook"]!.put!.responses).toHaveProperty("502");
  expect(Object.keys(spec.paths["/admin/webhook"]!.put!.requestBody!.content)).toEqual(["application/json"]);
});

test("parameters are documented with plain types (no coercion unions), and the status filters list their values", () => {
  const runs = spec.paths["/admin/runs"]!.get!;
  const byName = Object.fromEntries(runs.parameters!.map((p) => [p.name, p]));
  expect(byName.status!.schema.enum).toEqual(["running", "waiting", "done", "failed", "cancelled"]);
  expect(byName.status!.schema.default).toBeUndefined();
  expect(byName.limit!.schema).toMatchObject({ type: "integer", minimum: 1, maximum: 500, default: 50 });
  expect(byName.conversation!.schema).toMatchObject({ type: "string", minLength: 1 });
  expect(spec.paths["/admin/updates"]!.get!.parameters!.find((p) => p.name === "status")!.schema.enum).toContain("failed");
  expect(JSON.stringify(spec)).not.toContain("anyOf");
});

test("/swagger serves Swagger UI from the app itself: no CDN, assets served locally", async () => {
  const page = await fetch(`${service.url}/swagger`);
  expect(page.status).toBe(200);
  expect(page.headers.get("content-type")).toContain("text/html");
  const html = await page.text();
  expect(html).not.toMatch(/https?:\/\//);
  const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  expect(assets).toContain("/swagger/assets/swagger-ui-bundle.js");
  expect(assets).toContain("/swagger/assets/swagger-ui.css");
  for (const asset of assets) {
    const response = await fetch(`${service.url}${asset}`);
    expect(response.status, asset).toBe(200);
    const size = (await response.arrayBuffer()).byteLength;
    expect(size, asset).toBeGreaterThan(asset.endsWith(".css") || asset.endsWith("bundle.js") ? 100_000 : 50);
  }
  const init = await (await fetch(`${service.url}/swagger/assets/init.js`)).text();
  expect(init).toContain('"/swagger/json"');
  expect(init).toContain("validatorUrl: null");
  expect((await fetch(`${service.url}/swagger/assets/nope.js`)).status).toBe(404);
});

import { afterAll, expect, test } from "bun:test";
import { RoundRobinProxy, type ProxiedRequest } from "./proxy.ts";

/** What a tiny backend saw of one request, as it answers it. */
interface Seen {
  backend: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: number[];
}

/** A backend that answers what it saw; `?status=N` picks the status, and the `x-backend` header names it. */
function backend(name: string) {
  const seen: Seen[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      const entry: Seen = {
        backend: name,
        method: request.method,
        path: `${url.pathname}${url.search}`,
        headers: Object.fromEntries(request.headers),
        body: [...new Uint8Array(await request.arrayBuffer())],
      };
      seen.push(entry);
      const status = Number(url.searchParams.get("status") ?? 200);
      return new Response(status === 204 ? null : JSON.stringify(entry), { status, headers: { "content-type": "application/json", "x-backend": name } });
    },
  });
  return { seen, url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) };
}

const a = backend("a");
const b = backend("b");
const proxies: RoundRobinProxy[] = [];
function proxy(backends: (string | undefined)[], onAnswer?: (request: ProxiedRequest) => void): RoundRobinProxy {
  const started = new RoundRobinProxy(backends, onAnswer ? { onAnswer } : {});
  proxies.push(started);
  return started;
}
afterAll(() => {
  for (const p of proxies) p.stop();
  a.stop();
  b.stop();
});

/** A URL on 127.0.0.1 nothing listens on: a server that was there and stopped. */
function deadUrl(): string {
  const gone = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const url = `http://127.0.0.1:${gone.port}`;
  gone.stop(true);
  return url;
}

test("requests alternate between the backends, and each backend's count says how many it answered", async () => {
  const p = proxy([a.url, b.url]);
  const before = { a: a.seen.length, b: b.seen.length };
  const names: string[] = [];
  for (let i = 0; i < 10; i++) names.push((await fetch(`${p.url}/n/${i}`)).headers.get("x-backend")!);
  expect(names).toEqual(["a", "b", "a", "b", "a", "b", "a", "b", "a", "b"]);
  expect(p.answered).toEqual([5, 5]);
  expect(a.seen.length - before.a).toBe(5);
  expect(b.seen.length - before.b).toBe(5);
  // Concurrent requests spread too.
  await Promise.all(Array.from({ length: 40 }, (_, i) => fetch(`${p.url}/c/${i}`).then((r) => r.arrayBuffer())));
  expect(p.answered).toEqual([25, 25]);
});

test("method, path, query, headers and a binary body reach the backend intact, and its headers and body come back", async () => {
  const p = proxy([a.url]);
  const body = new Uint8Array([0, 1, 2, 255, 254, 10, 13, 0, 123]);
  const response = await fetch(`${p.url}/telegram/webhook?x=1&y=%20two`, {
    method: "PUT",
    headers: { "x-telegram-bot-api-secret-token": "s3cret_-", "content-type": "application/octet-stream", authorization: "Bearer t" },
    body,
  });
  expect(response.status).toBe(200);
  expect(response.headers.get("x-backend")).toBe("a");
  expect(response.headers.get("content-type")).toBe("application/json");
  const seen = (await response.json()) as Seen;
  expect(seen.method).toBe("PUT");
  expect(seen.path).toBe("/telegram/webhook?x=1&y=%20two");
  expect(seen.headers).toMatchObject({ "x-telegram-bot-api-secret-token": "s3cret_-", "content-type": "application/octet-stream", authorization: "Bearer t", "content-length": "9" });
  expect(seen.body).toEqual([...body]);
});

test("the backend's status codes pass through unchanged, with their bodies", async () => {
  const p = proxy([a.url, b.url]);
  for (const status of [200, 201, 204, 302, 400, 401, 404, 409, 413, 500, 503]) {
    const response = await fetch(`${p.url}/s?status=${status}`, { method: "POST", body: "{}", redirect: "manual" });
    expect(response.status).toBe(status);
    const text = await response.text();
    if (status === 204) expect(text).toBe("");
    else expect((JSON.parse(text) as Seen).path).toBe(`/s?status=${status}`);
  }
});

test("a backend that refuses connections is skipped: every request is answered by the live one", async () => {
  const p = proxy([deadUrl(), b.url, deadUrl()]);
  const statuses = await Promise.all(Array.from({ length: 12 }, (_, i) => fetch(`${p.url}/d/${i}`, { method: "POST", body: `${i}` }).then((r) => r.status)));
  expect(statuses).toEqual(Array.from({ length: 12 }, () => 200));
  expect(p.answered).toEqual([0, 12, 0]);
  expect(p.refused[0]! + p.refused[2]!).toBeGreaterThanOrEqual(8);
  expect(p.refused[1]).toBe(0);
});

test("with every backend down the proxy answers 502 in JSON; a slot pointed at a live backend again takes requests", async () => {
  const p = proxy([deadUrl(), undefined]);
  const down = await fetch(`${p.url}/x`);
  expect(down.status).toBe(502);
  expect(await down.json()).toEqual({ ok: false, error: "no backend accepted the connection (2 slots)" });
  p.setBackend(1, a.url);
  const up = await fetch(`${p.url}/x`);
  expect(up.status).toBe(200);
  expect(up.headers.get("x-backend")).toBe("a");
  expect(() => p.setBackend(2, a.url)).toThrow("no backend slot 2");
});

test("onAnswer reports which backend answered each request, with its status and the request's body", async () => {
  const answers: ProxiedRequest[] = [];
  const p = proxy([a.url, b.url], (request) => answers.push(request));
  await fetch(`${p.url}/one?status=201`, { method: "POST", body: "first" });
  await fetch(`${p.url}/two`, { method: "POST", body: "second" });
  expect(answers.map((r) => ({ backend: r.backend, method: r.method, path: r.path, status: r.status, body: new TextDecoder().decode(r.body) }))).toEqual([
    { backend: 0, method: "POST", path: "/one?status=201", status: 201, body: "first" },
    { backend: 1, method: "POST", path: "/two", status: 200, body: "second" },
  ]);
});

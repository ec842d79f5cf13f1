/**
 * docs/deploy.md, "One host: compose with Caddy": "`Caddyfile` forwards `DOMAIN` to timbre and
 * answers 404 for `/admin`, `/swagger` and `/metrics`. Those stay reachable from the host itself
 * at `http://127.0.0.1:8080`." (and README "Operations": `/metrics` has no authentication, "keep it
 * on the private side of your proxy").
 *
 * The Caddyfile's matcher was `@private path /admin /admin/* /swagger /swagger/* /metrics`. In
 * Caddy's `path` matcher a pattern without `*` is an exact match, so `/metrics` did not match
 * `/metrics/`; Caddy forwarded `https://DOMAIN/metrics/` to timbre, and timbre (Elysia, trailing
 * slash not strict) answered it with the full Prometheus text. No Caddy here: the Caddyfile's
 * patterns are applied with the path matcher's documented rules (exact; `*` at the end: prefix;
 * at the start: suffix; case-insensitive), against a real timbre on port 0.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, serviceRig } from "../helpers.ts";

const rig = serviceRig();

/** Caddy's `path` matcher (caddyhttp.MatchPath) for the pattern forms the Caddyfile uses. */
function caddyPathMatches(pattern: string, path: string): boolean {
  const p = pattern.toLowerCase();
  const x = path.toLowerCase();
  if (p.startsWith("*") && p.endsWith("*") && p.length > 1) return x.includes(p.slice(1, -1));
  if (p.endsWith("*")) return x.startsWith(p.slice(0, -1));
  if (p.startsWith("*")) return x.endsWith(p.slice(1));
  return x === p;
}

test("every path on which timbre serves /metrics' text is one the Caddyfile answers 404 for", async () => {
  const caddyfile = readFileSync(join(ROOT, "Caddyfile"), "utf8");
  const line = /@private path (.+)\n/.exec(caddyfile);
  expect(line).not.toBeNull();
  const patterns = line![1]!.trim().split(/\s+/);
  expect(patterns).toContain("/metrics");

  const service = await rig.start({});
  const leaked: string[] = [];
  for (const path of ["/metrics", "/metrics/"]) {
    const response = await fetch(`${service.url}${path}`);
    const body = await response.text();
    const servesMetrics = response.status === 200 && body.includes("timbre_updates_received_total");
    const hiddenByCaddy = patterns.some((pattern) => caddyPathMatches(pattern, path));
    if (servesMetrics && !hiddenByCaddy) leaked.push(path);
  }
  expect(leaked).toEqual([]);
});

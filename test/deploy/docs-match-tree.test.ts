// What the README and docs say about the tree, checked against it: `bun run bench` runs every
// benchmark the README documents (it left out bench/instances.ts), the test files docs/outbox.md
// names exist (it named one split up long ago), and the paths docs/deploy.md says .dockerignore
// lets into the image are the ones it lets in (drizzle-pg/ was missing).
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers.ts";

const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

test("every benchmark the README's Benchmarks section documents is one `bun run bench` runs", () => {
  expect((JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts.bench).toBe("bun bench/run.ts");
  const list = /const benches = \[([^\]]*)\]/.exec(read("bench/run.ts"))?.[1];
  expect(list).toBeDefined();
  const run = new Set([...list!.matchAll(/"([^"]+\.ts)"/g)].map((m) => m[1]!));
  const readme = read("README.md");
  const section = readme.slice(readme.indexOf("## Benchmarks"), readme.indexOf("## Development"));
  expect(section).toContain("`bun run bench` runs them all");
  // The commands the section tells a reader to run: `bun bench/<name>.ts ...` (not `--preload` helpers).
  const documented = [...new Set([...section.matchAll(/`(?:[A-Z_]+=\S+ )*bun (?:--[\w-]+ )*bench\/([\w-]+\.ts)/g)].map((m) => m[1]!))];
  expect(documented.length).toBeGreaterThan(10);
  expect(documented.filter((file) => !run.has(file))).toEqual([]);
});

test("every test file docs/outbox.md names exists", () => {
  const named = [...new Set([...read("docs/outbox.md").matchAll(/`(test\/[\w./-]+\.test\.ts)`/g)].map((m) => m[1]!))];
  expect(named.length).toBeGreaterThan(0);
  expect(named.filter((file) => !existsSync(join(ROOT, file)))).toEqual([]);
});

test("the paths docs/deploy.md says .dockerignore lets into the build are the ones it lets in", () => {
  const sentence = /`\.dockerignore` lets only ([^\n]*(?:\n[^\n]*)?) into the build/.exec(read("docs/deploy.md"))?.[1];
  expect(sentence).toBeDefined();
  const documented = [...sentence!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.replace(/\/$/, "")).sort();
  const allowed = read(".dockerignore")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.startsWith("!"))
    .map((line) => line.slice(1).replace(/\/$/, ""))
    .sort();
  expect(documented).toEqual(allowed);
});

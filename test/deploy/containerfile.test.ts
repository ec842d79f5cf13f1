/**
 * The Containerfile as the image check reads it, and what must hold for the platforms: exec-form
 * entrypoint, non-root user, /data, no VOLUME (Railway refuses it), a HEALTHCHECK; the build
 * context .dockerignore lets through; Dockerfile is the same file.
 */
import { describe, expect, test } from "bun:test";
import { lstatSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { ContainerfileError, ignoreMatcher, parseContainerfile } from "../../scripts/check-image/containerfile.ts";
import { ROOT } from "../helpers.ts";

const text = readFileSync(join(ROOT, "Containerfile"), "utf8");

test("Dockerfile is a link to Containerfile, so docker, Fly and Railway find the same file", () => {
  expect(lstatSync(join(ROOT, "Dockerfile")).isSymbolicLink()).toBe(true);
  expect(readlinkSync(join(ROOT, "Dockerfile"))).toBe("Containerfile");
});

test("the runtime stage: distroless, the binary as exec-form entrypoint, non-root, /data, PORT, a HEALTHCHECK, SIGTERM", () => {
  const { build, runtime } = parseContainerfile(text);
  expect(build.from).toBe("docker.io/oven/bun:1.4.5");
  expect(build.steps.filter((s) => s.kind === "run").map((s) => (s.kind === "run" ? s.command : ""))).toEqual([
    "bun install --frozen-lockfile --production --ignore-scripts",
    "bun run build && dist/timbre --version && mkdir -p data",
  ]);
  expect(runtime.from).toBe("gcr.io/distroless/base-nossl-debian13:nonroot");
  expect(runtime.entrypoint).toEqual(["/usr/local/bin/timbre"]);
  expect(runtime.cmd).toEqual([]);
  expect(runtime.user).toBe("65532:65532");
  expect(runtime.env).toEqual({ DATABASE_PATH: "/data/timbre.db", HOST: "0.0.0.0", PORT: "8080" });
  expect(runtime.workdir).toBe("/data");
  expect(runtime.exposed).toEqual(["8080/tcp"]);
  expect(runtime.stopSignal).toBe("SIGTERM");
  expect(runtime.healthcheck).toEqual({ test: ["/usr/local/bin/timbre", "healthcheck"], intervalMs: 30_000, timeoutMs: 5_000, startPeriodMs: 10_000, retries: 3 });
  expect(runtime.copies).toEqual([
    { from: "build", sources: ["/src/dist/timbre"], dest: "/usr/local/bin/timbre" },
    { from: "build", chown: "65532:65532", sources: ["/src/data"], dest: "/data" },
  ]);
});

describe("what the check refuses, with the line and the reason", () => {
  const runtimeWith = (lines: string) => `FROM docker.io/oven/bun:1 AS build\nRUN bun run build\nFROM gcr.io/distroless/base-nossl-debian13:nonroot\nCOPY --from=build /src/dist/timbre /t\n${lines}\n`;
  const cases: [string, string, RegExp][] = [
    ["a shell-form ENTRYPOINT (a shell in front of timbre swallows SIGTERM)", "ENTRYPOINT /t", /line 5 \(ENTRYPOINT\): expected the exec form .*SIGTERM/],
    ["VOLUME (Railway's builder refuses it)", 'ENTRYPOINT ["/t"]\nVOLUME /data', /line 6 \(VOLUME\): Railway's builder refuses VOLUME/],
    ["RUN in the runtime stage (no shell there)", 'RUN chown 65532 /data\nENTRYPOINT ["/t"]', /line 5 \(RUN\): the runtime image has no shell/],
    ["an instruction the check does not know", 'SHELL ["/bin/sh"]\nENTRYPOINT ["/t"]', /line 5 \(SHELL\)/],
    ["no ENTRYPOINT", 'CMD ["/t"]', /no ENTRYPOINT/],
  ];
  for (const [what, lines, message] of cases) {
    test(what, () => {
      expect(() => parseContainerfile(runtimeWith(lines))).toThrow(ContainerfileError);
      expect(() => parseContainerfile(runtimeWith(lines))).toThrow(message);
    });
  }
  test("one stage, or three", () => {
    expect(() => parseContainerfile('FROM scratch\nENTRYPOINT ["/t"]\n')).toThrow("expected two stages (build, runtime), found 1");
  });
});

test("continuation lines and comments are read as the builder reads them", () => {
  const file = parseContainerfile(`ARG V=2\nFROM img:\${V} AS b\n# a comment\nRUN one \\\n  # inside\n  two\nFROM gcr.io/x\nCOPY --from=b /a /a\nENV A=1 \\\n    B="two words"\nENTRYPOINT ["/a"]\n`);
  expect(file.build.from).toBe("img:2");
  expect(file.build.steps).toEqual([{ kind: "run", command: "one two" }]);
  expect(file.runtime.env).toEqual({ A: "1", B: "two words" });
});

test(".dockerignore sends only what `bun run build` reads, and never tokens or databases", () => {
  const ignored = ignoreMatcher(readFileSync(join(ROOT, ".dockerignore"), "utf8"));
  for (const kept of ["package.json", "bun.lock", "tsconfig.json", "src/main.ts", "src/sandbox/page.html", "scripts/build.ts", "drizzle/meta/_journal.json", "drizzle/0000_init.sql", "drizzle-pg/meta/_journal.json", "drizzle-pg/0000_init.sql"]) {
    expect({ path: kept, ignored: ignored(kept) }).toEqual({ path: kept, ignored: false });
  }
  for (const left of [".git/HEAD", "node_modules/elysia/package.json", "dist/timbre", "data/timbre.db", ".env", "src/.env", "src/x.db", "src/x.db-wal", "test/helpers.ts", "docs/deploy.md", "README.md", "fly.toml", "compose.yaml"]) {
    expect({ path: left, ignored: ignored(left) }).toEqual({ path: left, ignored: true });
  }
});

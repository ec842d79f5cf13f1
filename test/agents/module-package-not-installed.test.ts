/**
 * README "Write your own agent": "The module may import its sibling files and packages from a
 * `node_modules/` beside it ... A module that cannot be loaded (a syntax error, an import that is
 * not there), throws while loading, or has no default export function stops the start with exit
 * code 1 and one line, such as `timbre: AGENT="/srv/bot/bot.ts" could not be loaded: Cannot find
 * package 'openai' imported from /srv/bot/bot.ts`."
 * SPEC "Agent modules": "The module may import packages installed beside it".
 *
 * An import of a package that is NOT installed beside the module must stop the start. Bun's
 * auto-install instead fetches it from the npm registry at start and serves with it. The registry
 * here is a real local HTTP server (port 0) pointed at with BUN_CONFIG_REGISTRY, so no network is
 * used: it serves one tiny package, and records whether timbre asked it for anything.
 * Started as README says from a checkout: `bun start /abs/path/bot.js` in the checkout.
 */
import { afterAll, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, tempDir } from "../helpers.ts";

const dir = tempDir("timbre-audit-autoinstall-");
const PKG = "timbre-audit-shout";

// A tiny package as a registry serves it: a tarball with package/package.json and package/index.js.
mkdirSync(join(dir.path, "pkg/package"), { recursive: true });
writeFileSync(join(dir.path, "pkg/package/package.json"), JSON.stringify({ name: PKG, version: "1.0.0", main: "index.js" }));
writeFileSync(join(dir.path, "pkg/package/index.js"), 'exports.shout = (s) => String(s).toUpperCase() + "!";\n');
expect(Bun.spawnSync(["tar", "czf", join(dir.path, "pkg.tgz"), "-C", join(dir.path, "pkg"), "package"]).exitCode).toBe(0);
const tarball = readFileSync(join(dir.path, "pkg.tgz"));

const asked: string[] = [];
const registry: Bun.Server<undefined> = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(request): Response {
    const path = new URL(request.url).pathname;
    asked.push(path);
    if (path === `/${PKG}`) {
      return Response.json({
        name: PKG,
        "dist-tags": { latest: "1.0.0" },
        versions: {
          "1.0.0": {
            name: PKG,
            version: "1.0.0",
            main: "index.js",
            dist: {
              tarball: `http://127.0.0.1:${registry.port}/${PKG}-1.0.0.tgz`,
              shasum: createHash("sha1").update(tarball).digest("hex"),
              integrity: `sha512-${createHash("sha512").update(tarball).digest("base64")}`,
            },
          },
        },
      });
    }
    if (path === `/${PKG}-1.0.0.tgz`) return new Response(tarball);
    return new Response("{}", { status: 404 });
  },
});

afterAll(() => {
  registry.stop(true);
  dir.cleanup();
});

test("an agent module importing a package not installed beside it stops the start (exit 1, one line), and nothing is fetched from a registry", async () => {
  const botDir = join(dir.path, "bot");
  mkdirSync(botDir);
  const bot = join(botDir, "bot.js");
  writeFileSync(bot, `import { shout } from "${PKG}";\nexport default async (ctx) => { await ctx.reply(shout(ctx.text)); };\n`);
  expect(existsSync(join(botDir, "node_modules"))).toBe(false);

  const proc = Bun.spawn([process.execPath, "start", bot], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: dir.path,
      PORT: "0",
      HOST: "127.0.0.1",
      DATABASE_PATH: join(dir.path, "data/timbre.db"),
      BUN_CONFIG_REGISTRY: `http://127.0.0.1:${registry.port}/`,
      NPM_CONFIG_REGISTRY: `http://127.0.0.1:${registry.port}/`,
      BUN_INSTALL_CACHE_DIR: join(dir.path, "bun-cache"),
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  // A refused start exits at once; a start that went on serves until stopped.
  const killer = setTimeout(() => proc.kill("SIGTERM"), 15_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(killer);

  const served = stdout.includes("timbre is serving");
  expect({ served, askedTheRegistry: asked, code }).toEqual({ served: false, askedTheRegistry: [], code: 1 });
  // timbre's one line; `bun start` adds its own ("$ bun src/main.ts", the script's exit code) around it.
  const timbreLines = stderr.split("\n").filter((line) => line.startsWith("timbre"));
  expect(timbreLines).toHaveLength(1);
  expect(timbreLines[0]).toContain(`could not be loaded: Cannot find package '${PKG}'`);
}, 40_000);

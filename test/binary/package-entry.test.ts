/**
 * SPEC "Agent modules": with `dist/timbre`, "The module may import packages installed beside it",
 * also the many npm packages whose entry point is in a subfolder ("main": "lib/index.js", or an
 * "exports" map into ./dist): the binary resolves them as `bun src/main.ts` does (the build's
 * autoloadPackageJson).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { agentFolder, type AgentFolder } from "../agents/modules-support.ts";
import { connectWebhook, serviceEnv, spawnService, startEmulator, waitFor, type SpawnedService } from "../helpers.ts";
import { newUser, Person } from "../runtime/support.ts";
import { builtBinary } from "./build.ts";

const { emulator, apiUrl } = startEmulator(31);
const children: SpawnedService[] = [];
let folder: AgentFolder;
let binary: string;

beforeAll(async () => {
  binary = (await builtBinary()).outfile;
  folder = agentFolder("timbre-audit-pkg-subfolder-");
  // Two packages as npm ships them: the entry file in a subfolder, named by "main" or by "exports".
  folder.write("node_modules/lib-shout/package.json", JSON.stringify({ name: "lib-shout", version: "1.0.0", main: "lib/index.js" }));
  folder.write("node_modules/lib-shout/lib/index.js", 'exports.shout = (text) => String(text).toUpperCase() + "!";\n');
  folder.write("node_modules/dist-wrap/package.json", JSON.stringify({ name: "dist-wrap", version: "1.0.0", exports: { ".": { import: "./dist/index.js", require: "./dist/index.cjs" } } }));
  folder.write("node_modules/dist-wrap/dist/index.js", "export const wrap = (text) => `[${text}]`;\n");
  folder.write("node_modules/dist-wrap/dist/index.cjs", "exports.wrap = (text) => `[${text}]`;\n");
  folder.write(
    "bot.ts",
    `import type { Agent } from "timbre";
import { shout } from "lib-shout";
import { wrap } from "dist-wrap";

const agent: Agent = async (ctx) => {
  if (ctx.text !== undefined) await ctx.reply(wrap(shout(ctx.text)));
};
export default agent;
`,
  );
});

afterAll(async () => {
  for (const child of children) if (child.proc.exitCode === null) await child.kill9();
  emulator.stop();
  folder?.cleanup();
});

/** Starts `cmd` in the folder; what it printed when it exited instead of serving. */
async function start(cmd: string[]): Promise<{ child?: SpawnedService; error?: string }> {
  const env = serviceEnv(emulator, apiUrl, "./timbre.db", { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });
  const probe = Bun.spawn(cmd, { cwd: folder.path, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env, LOG_LEVEL: "info" }, stdout: "pipe", stderr: "pipe" });
  let out = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) out += new TextDecoder().decode(chunk);
  };
  void pump(probe.stdout);
  void pump(probe.stderr);
  await waitFor(() => probe.exitCode !== null || out.includes('"msg":"timbre is serving"'), "the service to serve or exit", 20_000);
  if (probe.exitCode !== null) return { error: out.trim() };
  probe.kill(9);
  await probe.exited;
  const child = await spawnService(env, cmd, folder.path);
  children.push(child);
  await connectWebhook(emulator, child.url);
  return { child };
}

test("dist/timbre ./bot.ts serves a module importing packages whose entry point is in a subfolder of node_modules/<pkg>", async () => {
  const started = await start([binary, "./bot.ts"]);
  // Today: "service exited with 1: timbre: AGENT=\".../bot.ts\" could not be loaded: Cannot find package 'lib-shout' imported from .../bot.ts"
  expect(started.error).toBeUndefined();
  const person = new Person(emulator, newUser("Pia"));
  expect(await person.say("hello")).toBe("[HELLO!]");
  expect(await started.child!.terminate()).toBe(0);
}, 60_000);

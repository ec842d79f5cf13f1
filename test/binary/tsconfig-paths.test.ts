/**
 * SPEC "Agent modules": "`AGENT=./bot.ts` (or `.js`) loads a module whose default export is the
 * agent ..., with `bun start` and with `dist/timbre` run from any folder."
 * README "Write your own agent": "The module may import its sibling files ... from source and from
 * `dist/timbre` alike", and step 1 puts a `tsconfig.json` in the bot's folder.
 *
 * A bot whose folder's tsconfig.json maps an alias to its sibling files ("paths") loaded and
 * answered from source, but `dist/timbre` refused it ("Cannot find package '@lib/...'"): the
 * binary did not read the folder's tsconfig.json (scripts/build.ts now sets autoloadTsconfig).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { agentFolder, type AgentFolder } from "../agents/modules-support.ts";
import { connectWebhook, ROOT, serviceEnv, startEmulator, waitFor } from "../helpers.ts";
import { newUser, Person } from "../runtime/support.ts";
import { builtBinary } from "./build.ts";

const { emulator, apiUrl } = startEmulator(71);
let folder: AgentFolder;
let binary: string;
const procs: Bun.Subprocess[] = [];

beforeAll(async () => {
  binary = (await builtBinary()).outfile;
  folder = agentFolder("timbre-tsconfig-paths-");
  folder.write("tsconfig.json", JSON.stringify({ compilerOptions: { strict: true, module: "Preserve", moduleResolution: "bundler", allowImportingTsExtensions: true, noEmit: true, paths: { "@lib/*": ["./lib/*"] } } }));
  folder.write("lib/greet.ts", "export const greet = (text: string): string => `greeted: ${text}`;\n");
  folder.write("bot.ts", 'import { greet } from "@lib/greet.ts";\nexport default async (ctx: { text?: string; reply(t: string): Promise<void> }) => {\n  if (ctx.text !== undefined) await ctx.reply(greet(ctx.text));\n};\n');
});

afterAll(async () => {
  for (const proc of procs) if (proc.exitCode === null) proc.kill(9);
  await Promise.all(procs.map((p) => p.exited));
  emulator.stop();
  folder?.cleanup();
});

/** Starts `cmd` in the folder; the url it serves on, or what it printed when it exited instead. */
async function start(cmd: string[], db: string): Promise<{ url?: string; error?: string }> {
  const env = serviceEnv(emulator, apiUrl, db, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });
  const proc = Bun.spawn(cmd, { cwd: folder.path, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env, LOG_LEVEL: "info" }, stdout: "pipe", stderr: "pipe" });
  procs.push(proc);
  let out = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) out += decoder.decode(chunk);
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  await waitFor(() => proc.exitCode !== null || /"msg":"timbre is serving"/.test(out), "the service to serve or exit", 20_000);
  if (proc.exitCode !== null) return { error: out.trim() };
  return { url: /"msg":"timbre is serving","url":"([^"]+)"/.exec(out)![1] };
}

async function stopAll(): Promise<void> {
  for (const proc of procs) if (proc.exitCode === null) proc.kill("SIGTERM");
  await Promise.all(procs.map((p) => p.exited));
}

test("a bot using its folder's tsconfig.json paths serves from source and from dist/timbre alike", async () => {
  const fromSource = await start([process.execPath, join(ROOT, "src/main.ts"), "./bot.ts"], "./source.db");
  expect(fromSource.error).toBeUndefined();
  await connectWebhook(emulator, fromSource.url!);
  expect(await new Person(emulator, newUser("Src")).say("hi")).toBe("greeted: hi");
  await stopAll();

  const fromBinary = await start([binary, "./bot.ts"], "./binary.db");
  expect(fromBinary.error).toBeUndefined();
  await connectWebhook(emulator, fromBinary.url!);
  expect(await new Person(emulator, newUser("Bin")).say("hi")).toBe("greeted: hi");
  await stopAll();
}, 60_000);

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
import { connectWebhook, ROOT, serviceEnv, spawnService, startEmulator, type SpawnedService } from "../helpers.ts";
import { newUser, Person } from "../runtime/support.ts";
import { builtBinary } from "./build.ts";

const { emulator, apiUrl } = startEmulator(71);
let folder: AgentFolder;
let binary: string;
const children: SpawnedService[] = [];

beforeAll(async () => {
  binary = (await builtBinary()).outfile;
  folder = agentFolder("timbre-tsconfig-paths-");
  folder.write("tsconfig.json", JSON.stringify({ compilerOptions: { strict: true, module: "Preserve", moduleResolution: "bundler", allowImportingTsExtensions: true, noEmit: true, paths: { "@lib/*": ["./lib/*"] } } }));
  folder.write("lib/greet.ts", "export const greet = (text: string): string => `greeted: ${text}`;\n");
  folder.write("bot.ts", 'import { greet } from "@lib/greet.ts";\nexport default async (ctx: { text?: string; reply(t: string): Promise<void> }) => {\n  if (ctx.text !== undefined) await ctx.reply(greet(ctx.text));\n};\n');
});

afterAll(async () => {
  for (const child of children) if (child.proc.exitCode === null) await child.kill9();
  emulator.stop();
  folder?.cleanup();
});

/** Starts `cmd` in the folder (spawnService fails with what it printed if it exits instead of serving). */
async function start(cmd: string[], db: string): Promise<SpawnedService> {
  const child = await spawnService(serviceEnv(emulator, apiUrl, db, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }), cmd, folder.path);
  children.push(child);
  return child;
}

test("a bot using its folder's tsconfig.json paths serves from source and from dist/timbre alike", async () => {
  const fromSource = await start([process.execPath, join(ROOT, "src/main.ts"), "./bot.ts"], "./source.db");
  await connectWebhook(emulator, fromSource.url);
  expect(await new Person(emulator, newUser("Src")).say("hi")).toBe("greeted: hi");
  await fromSource.terminate();

  const fromBinary = await start([binary, "./bot.ts"], "./binary.db");
  await connectWebhook(emulator, fromBinary.url);
  expect(await new Person(emulator, newUser("Bin")).say("hi")).toBe("greeted: hi");
  await fromBinary.terminate();
}, 60_000);

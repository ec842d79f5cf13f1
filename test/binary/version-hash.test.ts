/**
 * README "Write your own agent": without a `version` export, each run records "the first 12 hex
 * digits of the sha256 of the module file's source": of its bytes, also in a file that is not
 * valid UTF-8 (a Latin-1 comment from an old editor), so any edit changes the version.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { agentFolder, type AgentFolder } from "../agents/modules-support.ts";
import { spawnService, type SpawnedService } from "../helpers.ts";
import { builtBinary } from "./build.ts";

const children: SpawnedService[] = [];
let folder: AgentFolder;
let binary: string;

beforeAll(async () => {
  binary = (await builtBinary()).outfile;
  folder = agentFolder("timbre-audit-version-bytes-");
});

afterAll(async () => {
  for (const child of children) if (child.proc.exitCode === null) await child.kill9();
  folder?.cleanup();
});

const body = 'export default async (ctx) => { if (ctx.text !== undefined) await ctx.reply("hi"); };\n';
const sha12 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex").slice(0, 12);

/** The agent_version the binary's start line names for `./file`, served in sandbox mode from the folder. */
async function servedVersion(file: string): Promise<string | undefined> {
  const child = await spawnService({ HOST: "127.0.0.1", PORT: "0", DATABASE_PATH: `./${file}.db` }, [binary, `./${file}`], folder.path);
  children.push(child);
  const version = /"msg":"timbre is serving".*?"agent_version":"([^"]+)"/.exec(child.output())?.[1];
  expect(await child.terminate()).toBe(0);
  return version;
}

test("the version of a module without `version` is the sha256 of its file, also for a byte that is not UTF-8; an edit of it changes the version", async () => {
  // The same agent; only one byte of a Latin-1 comment differs ("café" vs "cafè").
  writeFileSync(join(folder.path, "a.js"), Buffer.concat([Buffer.from("// caf"), Buffer.from([0xe9]), Buffer.from(`\n${body}`)]));
  writeFileSync(join(folder.path, "b.js"), Buffer.concat([Buffer.from("// caf"), Buffer.from([0xe8]), Buffer.from(`\n${body}`)]));
  const a = await servedVersion("a.js");
  const b = await servedVersion("b.js");
  expect({ a, b }).toEqual({ a: sha12(join(folder.path, "a.js")), b: sha12(join(folder.path, "b.js")) });
  expect(a).not.toBe(b);
}, 60_000);

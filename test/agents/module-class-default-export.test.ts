/**
 * README "Write your own agent": "A module that cannot be loaded ..., throws while loading, or has
 * no default export function stops the start with exit code 1 and one line".
 * SPEC "Agent modules": "loads a module whose default export is the agent"; SPEC "Agent runtime":
 * "An agent is `async (ctx) => void`".
 *
 * A default export that is a class is not an agent function (calling it throws "Cannot call a
 * class constructor ... without |new|"), but it passed the load check (`typeof` is "function"):
 * timbre started serving, and every run then failed with "Sorry, something went wrong".
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "../helpers.ts";
import { agentFolder } from "./modules-support.ts";

const folder = agentFolder("timbre-class-");
afterAll(() => folder.cleanup());

test("a module whose default export is a class stops the start: exit 1, one line naming AGENT", async () => {
  folder.write("bot.ts", 'export default class Bot {\n  async run(ctx: { reply(text: string): Promise<void> }) {\n    await ctx.reply("hi");\n  }\n}\n');
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, "../../src/main.ts"), "./bot.ts"], {
    cwd: folder.path,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", PORT: "0", HOST: "127.0.0.1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  let err = "";
  const pump = async (stream: ReadableStream<Uint8Array>, add: (s: string) => void) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) add(decoder.decode(chunk));
  };
  void pump(proc.stdout, (s) => (out += s));
  void pump(proc.stderr, (s) => (err += s));
  await waitFor(() => proc.exitCode !== null || out.includes('"msg":"timbre is serving"'), "the start to end (exit or serve)", 20_000);
  const served = out.includes('"msg":"timbre is serving"');
  if (proc.exitCode === null) proc.kill(9);
  const code = await proc.exited;
  expect({ served, code }).toEqual({ served: false, code: 1 });
  const lines = err.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toStartWith(`timbre: AGENT="${folder.path}/bot.ts" is invalid`);
  expect(existsSync(join(folder.path, "data"))).toBe(false);
}, 30_000);

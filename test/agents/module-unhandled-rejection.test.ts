/**
 * README "Write your own agent": "A module that cannot be loaded (a syntax error, an import that is
 * not there), throws while loading, or has no default export function stops the start with exit
 * code 1 and one line, such as `timbre: AGENT="/srv/bot/bot.ts" could not be loaded: ...`".
 *
 * A module whose top-level code starts an async set-up without awaiting it (here a promise that
 * rejects, as a failed connect or config fetch would) fails while loading. timbre used to print
 * Bun's code frame and stack trace, log "timbre is serving", then die with exit 1: no one line
 * naming AGENT, and a start announced as serving.
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { ROOT, waitFor } from "../helpers.ts";
import { agentFolder } from "./modules-support.ts";

const folder = agentFolder("timbre-rejection-");
afterAll(() => folder.cleanup());

test("a module whose top-level code leaves a rejected promise unhandled stops the start with one line naming AGENT", async () => {
  folder.write("bot.ts", 'async function connect(): Promise<void> {\n  throw new Error("no API key in ./secrets");\n}\nvoid connect();\nexport default async () => {};\n');
  const proc = Bun.spawn([process.execPath, join(ROOT, "src/main.ts"), "./bot.ts"], {
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
  const pumped = Promise.all([pump(proc.stdout, (s) => (out += s)), pump(proc.stderr, (s) => (err += s))]);
  await waitFor(() => proc.exitCode !== null || undefined, "the start to end", 20_000).catch(() => proc.kill(9));
  const code = await proc.exited;
  await pumped;
  expect({ code, served: out.includes('"msg":"timbre is serving"') }).toEqual({ code: 1, served: false });
  expect(err.trim().split("\n")).toEqual([expect.stringMatching(/^timbre: AGENT=".*\/bot\.ts" .*no API key in \.\/secrets/)]);
}, 30_000);

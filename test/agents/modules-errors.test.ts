/**
 * An agent module that cannot serve stops the start: exit 1 and one line naming AGENT and the
 * cause, no stack trace, nothing written. Real processes (`bun src/main.ts`), as a user starts it.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { agentFolder, runTimbre } from "./modules-support.ts";

const folder = agentFolder();
afterAll(() => folder.cleanup());

/** Starting with `args` and `env` in the folder fails as SPEC says; returns the line. */
async function refusedStart(args: string[], env: Record<string, string>): Promise<string> {
  const run = await runTimbre(args, folder.path, { PORT: "0", HOST: "127.0.0.1", ...env });
  expect(run.code).toBe(1);
  expect(run.stdout).toBe("");
  const lines = run.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toStartWith("timbre: AGENT=");
  expect(lines[0]).not.toMatch(/\bat .*:\d+:\d+/);
  // Loading comes first: no database was created in the working directory.
  expect(existsSync(join(folder.path, "data"))).toBe(false);
  return lines[0]!;
}

const cases: [string, string, string, RegExp][] = [
  ["a syntax error", "syntax.ts", "export default async () => { const x: number = ; };\n", /^timbre: AGENT=".*\/syntax\.ts" could not be loaded: Unexpected ; \(line 1, column \d+\)$/],
  ["an import of a package not installed", "missing-package.ts", 'import "left-pad-nowhere";\nexport default async () => {};\n', /^timbre: AGENT=".*\/missing-package\.ts" could not be loaded: Cannot find package 'left-pad-nowhere'/],
  ["an import of a sibling that is not there", "missing-sibling.ts", 'import { x } from "./nowhere.ts";\nexport default async () => { x; };\n', /^timbre: AGENT=".*\/missing-sibling\.ts" could not be loaded: Cannot find module '\.\/nowhere\.ts'/],
  ["a throw on import", "throws.ts", 'throw new TypeError("no API key in ./secrets");\nexport default async () => {};\n', /^timbre: AGENT=".*\/throws\.ts" threw while loading: TypeError: no API key in \.\/secrets$/],
  // A promise the top-level code starts and never awaits, which rejects (a failed connect): it used to print Bun's stack, log "serving", then die.
  ["a rejected promise left unhandled on import", "rejects.ts", 'async function connect(): Promise<void> {\n  throw new Error("no API key in ./secrets");\n}\nvoid connect();\nexport default async () => {};\n', /^timbre: AGENT=".*\/rejects\.ts" threw while loading: Error: no API key in \.\/secrets$/],
  ["a throw of a non-error on import", "throws-string.ts", 'throw "plain\\nstring";\nexport default async () => {};\n', /^timbre: AGENT=".*\/throws-string\.ts" threw while loading: plain string$/],
  ["no default export", "no-default.ts", "export const agent = async () => {};\n", /^timbre: AGENT=".*\/no-default\.ts" is invalid: it has no default export; expected the agent function/],
  ["a default export that is not a function", "object.ts", "export default { reply: true };\n", /^timbre: AGENT=".*\/object\.ts" is invalid: its default export is an object; expected the agent function/],
  // A class is a function to typeof: it used to start, and every run failed ("Cannot call a class constructor").
  ["a default export that is a class", "class.ts", 'export default class Bot {\n  async run(ctx: { reply(text: string): Promise<void> }) {\n    await ctx.reply("hi");\n  }\n}\n', /^timbre: AGENT=".*\/class\.ts" is invalid: its default export is a class; expected the agent function/],
  ["a version that is not a string", "version.ts", "export const version = 3;\nexport default async () => {};\n", /^timbre: AGENT=".*\/version\.ts" is invalid: its version is a number; expected a non-empty string/],
  ["an instantReply that is not a function", "instant.ts", 'export default Object.assign(async () => {}, { instantReply: "hi" });\n', /^timbre: AGENT=".*\/instant\.ts" is invalid: its instantReply is a string; expected a function/],
];

for (const [what, file, source, line] of cases) {
  test(`${what}: exit 1, one line naming AGENT and the cause`, async () => {
    folder.write(file, source);
    expect(await refusedStart([], { AGENT: `./${file}` })).toMatch(line);
  });
}

test("`timbre ./bot.ts` refuses the same way; a path with no file names where it looked", async () => {
  folder.write("cli-throws.ts", 'throw new Error("boom");\nexport default async () => {};\n');
  expect(await refusedStart(["./cli-throws.ts"], {})).toMatch(/^timbre: AGENT=".*\/cli-throws\.ts" threw while loading: Error: boom$/);
  expect(await refusedStart(["./nowhere/bot.ts"], {})).toBe(`timbre: AGENT="./nowhere/bot.ts" is invalid: expected one of coach, echo, llm, or the path of an agent module such as ./bot.ts (no file at ${folder.path}/nowhere/bot.ts)`);
});

test("`timbre ./bot.ts` overrides AGENT; anything after the path is a usage error (exit 2)", async () => {
  folder.write("cli-ok.ts", "export default 42;\n");
  // The argument wins over AGENT=echo: the module's bad export is what stops the start.
  expect(await refusedStart(["./cli-ok.ts"], { AGENT: "echo" })).toMatch(/cli-ok\.ts" is invalid: its default export is a number/);
  const extra = await runTimbre(["./cli-ok.ts", "--port", "9"], folder.path);
  expect(extra.code).toBe(2);
  expect(extra.stderr.trim().split("\n")).toEqual([expect.stringContaining('unexpected "--port 9" after the agent module ./cli-ok.ts')]);
});

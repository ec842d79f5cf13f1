/**
 * README, "An LLM bot in one command" → "Your own LLM agent":
 *   "write an agent file as in [Write your own agent] ... // bot.ts: AGENT=./bot.ts bun start
 *    import type { Agent } from "timbre"; ... authorization: `Bearer ${process.env.OPENAI_API_KEY}` ..."
 * and "Write your own agent" step 1: "`timbre types > timbre.d.ts` beside `bot.ts` ... With a
 *   `tsconfig.json` in the folder (copy examples/tsconfig.json) an editor and `bunx tsc` type
 *   `import ... from "timbre"` with nothing installed".
 * The LLM snippet does not type-check that way: `process` is not declared by timbre.d.ts nor by the
 * tsconfig (TS2591 "Cannot find name 'process'").
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { agentTypes } from "../../src/cli/agent-types.generated.ts";
import { ROOT } from "../helpers.ts";
import { agentFolder, typeCheck } from "./modules-support.ts";

const folder = agentFolder("timbre-readme-llm-");
afterAll(() => folder.cleanup());

test("README's LLM bot.ts snippet type-checks against `timbre types` with examples/tsconfig.json", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const bot = /```ts\n(\/\/ bot\.ts: AGENT=[\s\S]*?)```/.exec(readme)?.[1];
  expect(bot).toContain("OPENAI_API_KEY");
  folder.write("timbre.d.ts", agentTypes);
  folder.write("bot.ts", bot!);
  const checked = typeCheck(folder);
  expect(checked.output).toBe("");
  expect(checked.code).toBe(0);
});

/**
 * README "Write your own agent": "The default export may be an `async` function or a plain one (a
 * plain function that throws, or returns no promise, ends its run the same way)", and step 1:
 * "`timbre types > timbre.d.ts` beside `bot.ts` ... With a `tsconfig.json` in the folder (copy
 * examples/tsconfig.json) an editor and `bunx tsc` type `import ... from "timbre"`".
 * SPEC "Agent modules": "`timbre types` prints the TypeScript declarations of that module (the
 * agent API) ... so `timbre types > timbre.d.ts` gives an editor full types".
 *
 * A plain (non-async) agent, typed with the `Agent` the printed declarations export, was refused
 * by tsc: `Agent` was declared as returning `Promise<void>` only.
 */
import { afterAll, expect, test } from "bun:test";
import { ROOT } from "../helpers.ts";
import { agentFolder, runTimbre, typeCheck } from "./modules-support.ts";

const folder = agentFolder("timbre-plain-types-");
afterAll(() => folder.cleanup());

test("a plain (non-async) agent function typed `Agent` type-checks against `timbre types`", async () => {
  const types = await runTimbre(["types"], ROOT);
  expect(types.code).toBe(0);
  folder.write("timbre.d.ts", types.stdout);
  folder.write(
    "bot.ts",
    `import type { Agent } from "timbre";

// A plain function, as the README allows: it starts a reply and returns no promise.
const agent: Agent = (ctx) => {
  if (ctx.text === undefined) return;
  if (ctx.text === "boom") throw new Error("boom");
  void ctx.reply("hi");
};
export default agent;
`,
  );
  const checked = typeCheck(folder);
  expect(checked.output).toBe("");
  expect(checked.code).toBe(0);
});

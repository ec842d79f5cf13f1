import { expect, test } from "bun:test";
import { join } from "node:path";
import { parseCompletion } from "../../../src/agents/llm/wire.ts";
import { ROOT } from "../../helpers.ts";
import { openAiAnswers } from "./openai-types.ts";

test("the requests timbre sends and the answers it accepts type-check against the openai package's Chat Completions types", async () => {
  const tsc = Bun.spawn([process.execPath, "x", "tsc", "--noEmit", "-p", join(import.meta.dir, "openai-types.tsconfig.json")], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([tsc.exited, new Response(tsc.stdout).text(), new Response(tsc.stderr).text()]);
  expect(`${out}${err}`).toBe("");
  expect(code).toBe(0);
});

test("answers typed as OpenAI's (text, function and custom tool calls, a refusal) are accepted at run time too", () => {
  for (const [name, answer] of Object.entries(openAiAnswers)) {
    const parsed = parseCompletion(JSON.stringify(answer));
    expect({ name, ok: parsed.ok }).toEqual({ name, ok: true });
  }
});

import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_SYSTEM_PROMPT } from "../../../src/agents/llm/settings.ts";
import { ConfigError, loadConfig } from "../../../src/config.ts";
import { ROOT, tempDir } from "../../helpers.ts";

const dir = tempDir("timbre-llm-config-");
afterAll(() => dir.cleanup());

const llm = (env: Record<string, string>) => loadConfig({ AGENT: "llm", LLM_MODEL: "gpt-4o-mini", ...env }, dir.path).llm;

function errorOf(env: Record<string, string>): string {
  try {
    loadConfig({ AGENT: "llm", ...env }, dir.path);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe("AGENT=llm settings", () => {
  test("defaults: OpenAI's API root, no key, the built-in prompt, 8 turns, 40 messages, 120 s", () => {
    expect(llm({})).toEqual({
      baseUrl: "https://api.openai.com/v1",
      apiKey: undefined,
      model: "gpt-4o-mini",
      systemPrompt: DEFAULT_SYSTEM_PROMPT,
      maxTurns: 8,
      historyMessages: 40,
      timeoutSeconds: 120,
    });
  });

  test("values are taken; the base URL loses its trailing slash; the prompt file is read relative to the working directory", () => {
    mkdirSync(join(dir.path, "prompts"), { recursive: true });
    writeFileSync(join(dir.path, "prompts/bot.txt"), "You are a pirate.\n");
    expect(llm({ LLM_BASE_URL: "http://localhost:11434/v1/", LLM_API_KEY: "sk-x", LLM_SYSTEM_PROMPT_FILE: "prompts/bot.txt", LLM_MAX_TURNS: "3", LLM_HISTORY_MESSAGES: "0", LLM_TIMEOUT_SECONDS: "2.5" })).toEqual({
      baseUrl: "http://localhost:11434/v1",
      apiKey: "sk-x",
      model: "gpt-4o-mini",
      systemPrompt: "You are a pirate.",
      maxTurns: 3,
      historyMessages: 0,
      timeoutSeconds: 2.5,
    });
    expect(llm({ LLM_SYSTEM_PROMPT: "Be brief." })!.systemPrompt).toBe("Be brief.");
  });

  test("other agents read no LLM_* variable", () => {
    expect(loadConfig({ AGENT: "echo", LLM_MAX_TURNS: "lots" }, dir.path).llm).toBeUndefined();
  });
});

describe("a bad LLM_* value is one line naming it", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{}, /^LLM_MODEL is required with AGENT=llm: /],
    [{ LLM_MODEL: "m", LLM_BASE_URL: "ftp://models.example.com" }, /^LLM_BASE_URL="ftp:\/\/models.example.com" is invalid: expected the http\(s\) root of an OpenAI-compatible API/],
    [{ LLM_MODEL: "m", LLM_BASE_URL: "localhost:11434" }, /^LLM_BASE_URL="localhost:11434" is invalid/],
    [{ LLM_MODEL: "m", LLM_SYSTEM_PROMPT: "a", LLM_SYSTEM_PROMPT_FILE: "p.txt" }, /^LLM_SYSTEM_PROMPT_FILE="p.txt" is invalid: LLM_SYSTEM_PROMPT is set too; set one of them$/],
    [{ LLM_MODEL: "m", LLM_SYSTEM_PROMPT_FILE: "missing.txt" }, /^LLM_SYSTEM_PROMPT_FILE="missing.txt" is invalid: expected a readable text file with the system prompt \(ENOENT\)$/],
    [{ LLM_MODEL: "m", LLM_SYSTEM_PROMPT_FILE: "." }, /^LLM_SYSTEM_PROMPT_FILE="." is invalid: expected a readable text file with the system prompt \(EISDIR\)$/],
    [{ LLM_MODEL: "m", LLM_MAX_TURNS: "0" }, /^LLM_MAX_TURNS="0" is invalid: expected a whole number from 1 to 100$/],
    [{ LLM_MODEL: "m", LLM_HISTORY_MESSAGES: "-1" }, /^LLM_HISTORY_MESSAGES="-1" is invalid: expected a whole number from 0 to 10000$/],
    [{ LLM_MODEL: "m", LLM_TIMEOUT_SECONDS: "0" }, /^LLM_TIMEOUT_SECONDS="0" is invalid: expected a number greater than 0 and at most 3600$/],
  ];
  for (const [env, pattern] of cases) {
    test(Object.keys(env).join("+") || "LLM_MODEL unset", () => expect(errorOf(env)).toMatch(pattern));
  }

  test("an empty prompt file is refused", () => {
    writeFileSync(join(dir.path, "empty.txt"), "  \n");
    expect(errorOf({ LLM_MODEL: "m", LLM_SYSTEM_PROMPT_FILE: "empty.txt" })).toBe('LLM_SYSTEM_PROMPT_FILE="empty.txt" is invalid: the file is empty; write the system prompt in it');
  });

  test("timbre refuses to start with AGENT=llm and no LLM_MODEL: one line on stderr, exit code 1", async () => {
    const proc = Bun.spawn([process.execPath, join(ROOT, "src/main.ts")], {
      env: { PATH: process.env.PATH ?? "", AGENT: "llm", DATABASE_PATH: join(dir.path, "never", "x.db") },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [code, stderr, stdout] = await Promise.all([proc.exited, new Response(proc.stderr).text(), new Response(proc.stdout).text()]);
    expect(code).toBe(1);
    expect(stderr).toStartWith("timbre: LLM_MODEL is required with AGENT=llm: ");
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stdout).toBe("");
  });
});

test("timbre --help names every LLM_* variable", async () => {
  const proc = Bun.spawn([process.execPath, join(ROOT, "src/main.ts"), "--help"], { stdout: "pipe", stderr: "pipe" });
  const [code, stdout] = await Promise.all([proc.exited, new Response(proc.stdout).text()]);
  expect(code).toBe(0);
  expect(stdout).toContain("coach (default), echo, llm, or the path of an agent module");
  for (const name of ["LLM_BASE_URL", "LLM_API_KEY", "LLM_MODEL", "LLM_SYSTEM_PROMPT", "LLM_SYSTEM_PROMPT[_FILE]", "LLM_MAX_TURNS", "LLM_HISTORY_MESSAGES", "LLM_TIMEOUT_SECONDS"]) expect(stdout).toContain(name);
});

describe("AGENT=llm: values that could not work as given", () => {
  test("LLM_BASE_URL with a query or fragment stops the start naming it (calls go to {root}/chat/completions; the Azure-style ?api-version= put that path in the query)", () => {
    for (const value of ["http://127.0.0.1:9/v1?api-version=2024-06-01", "https://api.openai.com/v1#x", "https://api.openai.com/v1?"]) {
      expect(errorOf({ LLM_MODEL: "m", LLM_BASE_URL: value })).toStartWith(`LLM_BASE_URL=${JSON.stringify(value)} is invalid: expected a root URL without query or fragment`);
    }
  });

  test("an LLM_API_KEY under 4 characters stops the start without showing it (it could not be redacted from logs and errors); 4 are taken", () => {
    const message = errorOf({ LLM_MODEL: "m", LLM_API_KEY: "k3y" });
    expect(message).toStartWith("LLM_API_KEY is 3 characters long: it must be at least 4");
    expect(message).not.toContain("k3y");
    expect(llm({ LLM_API_KEY: "k3y!" })?.apiKey).toBe("k3y!");
  });
});

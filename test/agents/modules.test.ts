/**
 * Agent modules in process: AGENT names a file whose default export is the agent; "timbre"
 * inside it is this timbre (same classes); its version is its own string or a hash of its source.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { agents } from "../../src/agents/index.ts";
import { loadAgent } from "../../src/agents/load-agent.ts";
import { versionLine } from "../../src/build-info.ts";
import { loadConfig } from "../../src/config.ts";
import * as agentApi from "../../src/runtime/context.ts";
import { serviceRig } from "../helpers.ts";
import { newUser, Person } from "../runtime/support.ts";
import { agentFolder, installShoutPackage } from "./modules-support.ts";

const folder = agentFolder();
// Before any import from the folder: Bun caches what a folder holds once it has resolved from it.
installShoutPackage(folder);
const rig = serviceRig();
afterAll(() => folder.cleanup());

const fast = { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" };
const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex").slice(0, 12);

describe("AGENT in the configuration", () => {
  test("a built-in name in any case stays the name; anything else is a file resolved against the working directory", () => {
    const file = folder.write("config/bot.ts", "export default async () => {};\n");
    expect(loadConfig({}).agent).toBe("coach");
    expect(loadConfig({ AGENT: "Echo" }).agent).toBe("echo");
    expect(loadConfig({ AGENT: "./config/bot.ts" }, folder.path).agent).toBe(file);
    expect(loadConfig({ AGENT: "config/bot.ts" }, folder.path).agent).toBe(file);
    expect(loadConfig({ AGENT: file }, "/").agent).toBe(file);
  });

  test("a path with no file, or a folder, is a config error naming AGENT", () => {
    expect(() => loadConfig({ AGENT: "./missing.ts" }, folder.path)).toThrow(`AGENT="./missing.ts" is invalid: expected one of coach, echo, llm, or the path of an agent module such as ./bot.ts (no file at ${folder.path}/missing.ts)`);
    expect(() => loadConfig({ AGENT: "./config" }, folder.path)).toThrow(`AGENT="./config" is invalid: expected one of coach, echo, llm, or the path of an agent module such as ./bot.ts (${folder.path}/config is a folder, not a file)`);
  });
});

describe("loadAgent", () => {
  test("a built-in: its function, its name, and timbre's own version line", async () => {
    expect(await loadAgent("echo")).toEqual({ name: "echo", agent: agents.echo, version: versionLine() });
  });

  test("version: the default export's property, else the named export, else a hash of the file's source", async () => {
    const property = folder.write("version/property.ts", 'const agent = Object.assign(async () => {}, { version: " 2024-06-01 " });\nexport const version = "ignored";\nexport default agent;\n');
    const named = folder.write("version/named.ts", 'export const version = "v7";\nexport default async () => {};\n');
    const hashed = folder.write("version/hashed.ts", "export default async () => {};\n");
    const changed = folder.write("version/changed.ts", "export default async () => { /* changed */ };\n");
    expect((await loadAgent(property)).version).toBe("2024-06-01");
    expect((await loadAgent(named)).version).toBe("v7");
    const loaded = await loadAgent(hashed);
    expect(loaded.name).toBe(hashed);
    expect(loaded.version).toMatch(/^[0-9a-f]{12}$/);
    expect(loaded.version).toBe(sha(hashed));
    expect((await loadAgent(changed)).version).not.toBe(loaded.version);
  });

  test('"timbre" inside a module is this timbre: the very same error classes', async () => {
    const file = folder.write(
      "identity/bot.ts",
      'import { AskTimeoutError, RunCancelledError, StepFailedError, ReplayMismatchError, type Agent } from "timbre";\n' +
        "export const classes = { AskTimeoutError, RunCancelledError, StepFailedError, ReplayMismatchError };\n" +
        "const agent: Agent = async () => {};\nexport default agent;\n",
    );
    await loadAgent(file);
    const { classes } = (await import(file)) as { classes: Record<string, unknown> };
    expect(classes.AskTimeoutError).toBe(agentApi.AskTimeoutError);
    expect(classes.RunCancelledError).toBe(agentApi.RunCancelledError);
    expect(classes.StepFailedError).toBe(agentApi.StepFailedError);
    expect(classes.ReplayMismatchError).toBe(agentApi.ReplayMismatchError);
  });

  test("a CommonJS module.exports function is the agent too", async () => {
    const file = folder.write("cjs/bot.js", 'module.exports = async function agent(ctx) { await ctx.reply("cjs"); };\nmodule.exports.version = "cjs-1";\n');
    const loaded = await loadAgent(file);
    expect(typeof loaded.agent).toBe("function");
    expect(loaded.version).toBe("cjs-1");
  });
});

describe("a service running an agent module", () => {
  test("the module imports a sibling file and a package installed beside it, and catches timbre's AskTimeoutError", async () => {
    folder.write("served/greeting.ts", "export const greeting = (name: string) => `What is your name, ${name}?`;\n");
    folder.write(
      "served/bot.ts",
      [
        'import { AskTimeoutError, type Agent } from "timbre";',
        'import { shout } from "tiny-shout";',
        'import { greeting } from "./greeting.ts";',
        "const agent: Agent = async (ctx) => {",
        "  if (ctx.text === undefined) return;",
        "  const timeoutSeconds = ctx.text === 'patient' ? 600 : 1;",
        "  try {",
        "    const name = await ctx.ask(greeting(ctx.user?.first_name ?? 'you'), { timeoutSeconds });",
        "    await ctx.reply(shout(`hello ${name}`));",
        "  } catch (error) {",
        "    if (!(error instanceof AskTimeoutError)) throw error;",
        "    await ctx.reply(`caught ${error.name}: ${error.question}`);",
        "  }",
        "};",
        "export default agent;",
        "",
      ].join("\n"),
    );
    await rig.start({ ...fast, AGENT: `${folder.path}/served/bot.ts` });

    const patient = new Person(rig.emulator, newUser("Ana"));
    expect(await patient.say("patient")).toBe("What is your name, Ana?");
    expect(await patient.say("ana")).toBe("HELLO ANA!");

    const silent = new Person(rig.emulator, newUser("Bo"));
    expect(await silent.say("hurry")).toBe("What is your name, Bo?");
    // The runtime's AskTimeoutError is the class the module imported: instanceof holds.
    expect(await silent.hear()).toBe("caught AskTimeoutError: What is your name, Bo?");
  });

  test("a module's instantReply answers without a run", async () => {
    const file = folder.write(
      "instant/bot.ts",
      'import type { Agent } from "timbre";\n' +
        'const agent: Agent = Object.assign(async (ctx: Parameters<Agent>[0]) => { await ctx.reply(`run: ${ctx.text}`); }, { instantReply: (text: string) => (text === "/start" ? "welcome" : undefined) });\n' +
        "export default agent;\n",
    );
    const service = await rig.start({ ...fast, AGENT: file });
    const person = new Person(rig.emulator, newUser("Cy"));
    expect(await person.say("/start")).toBe("welcome");
    expect(await person.say("go")).toBe("run: go");
    expect(service.runtime.list({ limit: 10 }).filter((run) => run.chatId === person.chatId)).toHaveLength(1);
  });
});

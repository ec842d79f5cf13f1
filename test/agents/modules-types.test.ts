/**
 * `timbre types`: the agent API's declarations as `declare module "timbre"`, generated from
 * src/runtime/context.ts, which type an agent file with nothing installed beside it.
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { emitAgentApiDeclarations, GENERATED_FILE, renderAgentTypes, renderAgentTypesModule } from "../../scripts/agent-types.ts";
import { agentTypes } from "../../src/cli/agent-types.generated.ts";
import { ROOT } from "../helpers.ts";
import { agentFolder, runTimbre, typeCheck, type AgentFolder } from "./modules-support.ts";

const folders: AgentFolder[] = [];
afterAll(() => {
  for (const folder of folders) folder.cleanup();
});

function folderWithTypes(): AgentFolder {
  const folder = agentFolder("timbre-types-");
  folders.push(folder);
  folder.write("timbre.d.ts", agentTypes);
  return folder;
}

/** Uses every name the API exports, the way an agent would. */
const GOOD_BOT = `import { AskTimeoutError, ReplayMismatchError, RunCancelledError, StepFailedError, type Agent, type AgentContext, type AgentUser, type StepOptions } from "timbre";

interface Memory { visits: number }
const retry: StepOptions = { retries: 2, backoffSeconds: 0.5 };

async function visit(ctx: AgentContext<Memory>): Promise<number> {
  const visits = (ctx.memory?.visits ?? 0) + 1;
  await ctx.remember({ visits });
  return visits;
}

const agent: Agent<Memory> = async (ctx) => {
  const who: AgentUser | undefined = ctx.user;
  const visits = await visit(ctx);
  const rate = await ctx.step("rate", async () => ({ usd: 1.08 }), retry);
  const usd: number = rate.usd;
  try {
    const answer: string = await ctx.ask(\`\${who?.first_name}, visit \${visits}: \${usd}?\`, { choices: ["yes", "no"], timeoutSeconds: 60 });
    await ctx.sleep(1);
    await ctx.reply(answer, { parse_mode: "HTML" });
  } catch (error) {
    if (error instanceof AskTimeoutError) await ctx.reply(error.question);
    else if (error instanceof StepFailedError) await ctx.reply(\`\${error.step} after \${error.attempts}\`);
    else if (error instanceof RunCancelledError || error instanceof ReplayMismatchError) throw error;
  }
  ctx.signal.throwIfAborted();
};
agent.instantReply = (text) => (text === "/start" ? "hi" : undefined);
agent.version = "1";
export default agent;
`;

test("src/cli/agent-types.generated.ts is up to date with src/runtime/context.ts (else: bun run types:generate)", () => {
  expect(readFileSync(GENERATED_FILE, "utf8")).toBe(renderAgentTypesModule(renderAgentTypes(emitAgentApiDeclarations())));
});

test("timbre types prints the declarations, exit 0", async () => {
  const run = await runTimbre(["types"], ROOT);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  expect(run.stdout).toBe(agentTypes);
  expect(run.stdout).toContain('declare module "timbre" {');
  for (const name of ["AgentContext", "Agent", "AskTimeoutError", "RunCancelledError", "StepFailedError", "ReplayMismatchError"]) {
    expect(run.stdout).toMatch(new RegExp(`export (class|interface|type) ${name}\\b`));
  }
});

test("beside bot.ts, in a folder with the README's tsconfig.json, the printed file types an agent using the whole API", () => {
  const folder = folderWithTypes();
  folder.write("bot.ts", GOOD_BOT);
  const checked = typeCheck(folder);
  expect(checked.output).toBe("");
  expect(checked.code).toBe(0);
});

test("the types catch mistakes: a wrong argument, a name timbre does not export, a step result used as the wrong type", () => {
  const folder = folderWithTypes();
  folder.write(
    "bot.ts",
    `import { NoSuchThing, type Agent } from "timbre";
const agent: Agent = async (ctx) => {
  await ctx.reply(42);
  const n: string = await ctx.step("n", () => 1);
  await ctx.ask("q", { choices: "a" });
  void NoSuchThing;
};
export default agent;
`,
  );
  const checked = typeCheck(folder);
  expect(checked.code).not.toBe(0);
  expect(checked.output).toContain("bot.ts(1,10)"); // NoSuchThing
  expect(checked.output).toContain("bot.ts(3,19)"); // reply(42)
  expect(checked.output).toContain("bot.ts(4,9)"); // string = number
  expect(checked.output).toContain("bot.ts(5,24)"); // choices: "a"
  expect(checked.output.match(/error TS/g)).toHaveLength(4);
});

test("without a tsconfig.json, naming both files to tsc works too", () => {
  const folder = folderWithTypes();
  folder.write("bot.ts", GOOD_BOT);
  const tsc = Bun.spawnSync([process.execPath, join(ROOT, "node_modules/typescript/bin/tsc"), "--noEmit", "--strict", "--target", "esnext", "--module", "preserve", "bot.ts", "timbre.d.ts"], {
    cwd: folder.path,
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(tsc.stdout.toString() + tsc.stderr.toString()).toBe("");
  expect(tsc.exitCode).toBe(0);
  // And without the declarations, "timbre" is unknown: the file above is what types it.
  const without = Bun.spawnSync([process.execPath, join(ROOT, "node_modules/typescript/bin/tsc"), "--noEmit", "--strict", "--target", "esnext", "--module", "preserve", "bot.ts"], { cwd: folder.path, stdout: "pipe" });
  expect(without.exitCode).not.toBe(0);
  expect(without.stdout.toString()).toContain("Cannot find module 'timbre'");
});

test("README's bot.ts (Write your own agent) type-checks against the printed declarations", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const bot = /```ts\n(\/\/ bot\.ts\n[\s\S]*?)```/.exec(readme)?.[1];
  expect(bot).toContain('from "timbre"');
  const folder = folderWithTypes();
  folder.write("bot.ts", bot!);
  const checked = typeCheck(folder);
  expect(checked.output).toBe("");
  expect(checked.code).toBe(0);
});

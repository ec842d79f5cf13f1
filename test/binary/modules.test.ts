/**
 * The compiled executable copied alone into a folder with a user's bot.ts, a sibling file and a
 * node_modules of its own: `timbre ./bot.ts` serves it, "timbre" inside it is the binary itself,
 * and its runs survive kill -9. `timbre types` answers from inside the binary.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { agentTypes } from "../../src/cli/agent-types.generated.ts";
import { agentFolder, installShoutPackage, runTimbre, type AgentFolder } from "../agents/modules-support.ts";
import { connectWebhook, serviceEnv, spawnService, startEmulator, waitFor, type SpawnedService } from "../helpers.ts";
import { newUser, Person, readDb } from "../runtime/support.ts";
import { builtBinary } from "./build.ts";

const BOT = `import { AskTimeoutError, type Agent } from "timbre";
import { appendFileSync } from "node:fs";
import { shout } from "tiny-shout";
import { question } from "./questions.ts";

const agent: Agent = async (ctx) => {
  if (ctx.text === undefined) return;
  if (ctx.text === "ticket") {
    // The effect a step guards: one line in steps.log each time the step's function runs.
    const ticket = await ctx.step("open ticket", () => {
      appendFileSync("steps.log", \`run \${ctx.runId}\\n\`);
      return { id: \`T-\${ctx.runId}\` };
    });
    const answer = await ctx.ask(\`Ticket \${ticket.id} is open. \${question("summary")}\`);
    await ctx.reply(shout(\`\${ticket.id}: \${answer}\`));
    return;
  }
  try {
    const answer = await ctx.ask(question("name"), { timeoutSeconds: ctx.text === "hurry" ? 1 : 600 });
    await ctx.reply(shout(\`hello \${answer}\`));
  } catch (error) {
    if (!(error instanceof AskTimeoutError)) throw error;
    await ctx.reply(\`caught \${error.name}\`);
  }
};
export const version = "bin-1";
export default agent;
`;

const { emulator, apiUrl } = startEmulator(11);
const children: SpawnedService[] = [];
let folder: AgentFolder;
let binary: string;

beforeAll(async () => {
  const built = await builtBinary();
  // A folder as a user deploys it: the executable, the agent file, its sibling, its own packages.
  folder = agentFolder("timbre-bin-module-");
  binary = join(folder.path, "timbre");
  copyFileSync(built.outfile, binary);
  chmodSync(binary, 0o755);
  folder.write("bot.ts", BOT);
  folder.write("questions.ts", 'export const question = (what: string): string => `What is your ${what}?`;\n');
  installShoutPackage(folder);
});

afterAll(async () => {
  for (const child of children) if (child.proc.exitCode === null) await child.kill9();
  emulator.stop();
  folder?.cleanup();
});

const env = () => serviceEnv(emulator, apiUrl, "./timbre.db", { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });

/** Waits until every run of the person's chat has ended done. */
function runsEndDone(person: Person): Promise<boolean> {
  const statuses = () => readDb<{ status: string }>(join(folder.path, "timbre.db"), "SELECT status FROM runs WHERE chat_id = ?", person.chatId).map((r) => r.status);
  return waitFor(() => statuses().length > 0 && statuses().every((s) => s === "done"), `the runs of chat ${person.chatId} to end done (now: ${statuses().join(", ")})`);
}

/**
 * Waits until every message to the person is marked sent: killed before the question's mark, the
 * restart sends the question again (SPEC's in-flight allowance) and the person hears it twice.
 */
function allMarkedSent(person: Person): Promise<boolean> {
  const unsent = () => readDb(join(folder.path, "timbre.db"), "SELECT id FROM outbox WHERE chat_id = ? AND status != 'sent'", person.chatId).length;
  return waitFor(() => unsent() === 0, `the messages to chat ${person.chatId} to be marked sent`);
}

/** `./timbre ./bot.ts` in the folder, with the emulator's webhook pointed at it. */
async function serveBot(): Promise<SpawnedService> {
  const child = await spawnService(env(), [binary, "./bot.ts"], folder.path);
  children.push(child);
  await connectWebhook(emulator, child.url);
  return child;
}

test("timbre types from the binary prints the declarations embedded at build time (type-checked in test/agents/modules-types.test.ts)", async () => {
  const run = await runTimbre(["types"], folder.path, {}, [binary]);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  expect(run.stdout).toBe(agentTypes);
});

test("a module that throws on import, or does not parse, stops the binary with one line naming AGENT", async () => {
  folder.write("broken.ts", 'import "./questions.ts";\nthrow new Error("no config for the bot");\n');
  const thrown = await runTimbre(["./broken.ts"], folder.path, env(), [binary]);
  expect(thrown.code).toBe(1);
  expect(thrown.stderr.trim().split("\n")).toEqual([`timbre: AGENT="${folder.path}/broken.ts" threw while loading: Error: no config for the bot`]);
  folder.write("typo.ts", "export default async (ctx) => { await ctx.reply(; };\n");
  const unparsed = await runTimbre([], folder.path, { ...env(), AGENT: "typo.ts" }, [binary]);
  expect(unparsed.code).toBe(1);
  expect(unparsed.stderr.trim().split("\n")).toEqual([`timbre: AGENT="${folder.path}/typo.ts" could not be loaded: Unexpected ; (line 1, column 49)`]);
});

test("the binary serves ./bot.ts (sibling file, own package, timbre's AskTimeoutError); a run waiting on ask survives kill -9", async () => {
  const first = await serveBot();
  expect(first.output()).toContain(`"agent":"${folder.path}/bot.ts","agent_version":"bin-1"`);
  const hurried = new Person(emulator, newUser("Hal"));
  expect(await hurried.say("hurry")).toBe("What is your name?");
  expect(await hurried.hear()).toBe("caught AskTimeoutError");

  const waiting = new Person(emulator, newUser("Wes"));
  expect(await waiting.say("hi")).toBe("What is your name?");
  await allMarkedSent(waiting);
  await first.kill9();

  const second = await serveBot();
  expect(await waiting.say("wes")).toBe("HELLO WES!");
  await runsEndDone(waiting);
  expect(await second.terminate()).toBe(0);
}, 60_000);

test("ctx.step in the file agent runs exactly once across kill -9 while the run waits on ask", async () => {
  const first = await serveBot();
  const person = new Person(emulator, newUser("Tia"));
  const asked = await person.say("ticket");
  const id = /Ticket (T-\d+) is open/.exec(asked)?.[1];
  expect(asked).toBe(`Ticket ${id} is open. What is your summary?`);
  const stepsLog = () => readFileSync(join(folder.path, "steps.log"), "utf8");
  expect(stepsLog()).toBe(`run ${id!.slice(2)}\n`);
  await allMarkedSent(person);
  await first.kill9();

  // The replay returns the journaled ticket: the step's function is not called again.
  const second = await serveBot();
  expect(await person.say("printer on fire")).toBe(`${id}: PRINTER ON FIRE!`);
  expect(stepsLog()).toBe(`run ${id!.slice(2)}\n`);
  await runsEndDone(person);
  expect(await second.terminate()).toBe(0);
}, 60_000);

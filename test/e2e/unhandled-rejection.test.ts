// An agent's promise that nothing awaits and that rejects (here a ctx.reply from a timer after its
// run has ended: "the run has ended") used to end the whole process (Bun's default for an
// unhandled rejection: exit 1), taking every chat down with it. It is logged at error, and timbre
// serves on.
import { afterAll, expect, test } from "bun:test";
import { connectWebhook, serviceEnv, spawnService, startEmulator, tempDir, waitFor, type SpawnedService } from "../helpers.ts";
import { newUser, Person } from "../runtime/support.ts";

const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
let child: SpawnedService | undefined;
afterAll(async () => {
  if (child && child.proc.exitCode === null) await child.kill9();
  emulator.stop();
  dir.cleanup();
});

test("a rejected promise the agent left unawaited is logged, and the service goes on serving", async () => {
  const agent = `${dir.path}/late-reply.ts`;
  await Bun.write(agent, `export default async (ctx) => {\n  await ctx.reply("on it");\n  setTimeout(() => void ctx.reply("too late"), 200);\n};\n`);
  child = await spawnService(serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { AGENT: agent, SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }));
  await connectWebhook(emulator, child.url);
  const first = new Person(emulator, newUser("First"));
  expect(await first.say("go")).toBe("on it");
  const line = await waitFor(() => child!.output().split("\n").find((l) => l.includes("nothing handled it")), "the rejection to be logged", 5_000);
  expect(JSON.parse(line)).toMatchObject({ level: "error", error: expect.stringContaining("the run has ended") });
  expect(child.proc.exitCode).toBeNull();
  const second = new Person(emulator, newUser("Second"));
  expect(await second.say("go")).toBe("on it");
  expect(await child.terminate()).toBe(0);
}, 30_000);

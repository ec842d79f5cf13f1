/**
 * `bun run emulator`: the Bot API emulator alone, as a person uses it: start it, start timbre with
 * the environment it prints, type a line, see the bot's answer. Real processes throughout.
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { ROOT, runToExit, spawnService, tempDir, waitFor, type SpawnedService } from "../helpers.ts";

const dir = tempDir();
const emulators: Subprocess<"pipe", "pipe", "pipe">[] = [];
const services: SpawnedService[] = [];
afterAll(async () => {
  for (const service of services) if (service.proc.exitCode === null) await service.kill9();
  for (const emulator of emulators) if (emulator.exitCode === null) emulator.kill(9);
  dir.cleanup();
});

interface RunningEmulator {
  /** Everything it printed so far. */
  output(): string;
  /** TELEGRAM_BOT_TOKEN, TELEGRAM_API_URL and DATABASE_PATH as it prints them for timbre. */
  env: Record<string, string>;
  type(line: string): void;
  stop(): Promise<number>;
}

async function startEmulatorScript(): Promise<RunningEmulator> {
  const proc = Bun.spawn([process.execPath, "run", "emulator", "--port", "0"], { cwd: ROOT, stdin: "pipe", stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" } });
  emulators.push(proc);
  let out = "";
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stdout as unknown as AsyncIterable<Uint8Array>) out += decoder.decode(chunk);
  })();
  const polling = await waitFor(() => {
    if (proc.exitCode !== null) throw new Error(`the emulator exited with ${proc.exitCode}: ${out}`);
    return /polling: +(.+) bun start\n/.exec(out)?.[1];
  }, "the emulator's instructions");
  const env = Object.fromEntries(polling.split(" ").map((pair) => pair.split("=") as [string, string]));
  return {
    output: () => out,
    env,
    type(line) {
      proc.stdin.write(`${line}\n`);
      proc.stdin.flush();
    },
    async stop() {
      proc.kill("SIGINT");
      return proc.exited;
    },
  };
}

test("it prints a token-shaped TELEGRAM_BOT_TOKEN and its TELEGRAM_API_URL; timbre polls it and a typed line is answered", async () => {
  const emulator = await startEmulatorScript();
  expect(emulator.env.TELEGRAM_BOT_TOKEN).toMatch(/^\d+:[A-Za-z0-9_-]+$/);
  expect(emulator.env.TELEGRAM_API_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(emulator.env.BOT_MODE).toBe("polling");
  const databasePath = join(dir.path, "emulator.db");
  const timbre = await spawnService({ ...emulator.env, DATABASE_PATH: databasePath, HOST: "127.0.0.1", PORT: "0", AGENT: "echo" });
  services.push(timbre);
  emulator.type("hello from the terminal");
  await waitFor(() => emulator.output().includes("bot: hello from the terminal\n"), "the echo printed by the emulator");
  expect(await timbre.terminate()).toBe(0);
  expect(await emulator.stop()).toBe(0);

  // A new emulator (it keeps nothing) and the same database: what is typed is not taken for a duplicate.
  const again = await startEmulatorScript();
  const restarted = await spawnService({ ...again.env, DATABASE_PATH: databasePath, HOST: "127.0.0.1", PORT: "0", AGENT: "echo" });
  services.push(restarted);
  again.type("after a restart");
  await waitFor(() => again.output().includes("bot: after a restart\n"), "the echo after restarting the emulator");
  expect(await restarted.terminate()).toBe(0);
  expect(await again.stop()).toBe(0);
});

test("webhook mode as it prints it: timbre without BOT_MODE, then `timbre webhook set --url`; a typed line is answered", async () => {
  const emulator = await startEmulatorScript();
  const { BOT_MODE: _polling, ...env } = emulator.env;
  const withDatabase = { ...env, DATABASE_PATH: join(dir.path, "webhook.db") };
  const timbre = await spawnService({ ...withDatabase, HOST: "127.0.0.1", PORT: "0", AGENT: "echo" });
  services.push(timbre);
  expect(emulator.output()).toContain("bun src/main.ts webhook set --url http://127.0.0.1:8080/telegram/webhook");
  const set = await runToExit({ ...withDatabase }, [process.execPath, join(ROOT, "src/main.ts"), "webhook", "set", "--url", `${timbre.url}/telegram/webhook`]);
  expect(set.stderr).toBe("");
  expect(set.code).toBe(0);
  emulator.type("/start");
  emulator.type("through the webhook");
  await waitFor(() => emulator.output().includes("bot: through the webhook\n"), "the echo through the webhook");
  expect(await timbre.terminate()).toBe(0);
  expect(await emulator.stop()).toBe(0);
});

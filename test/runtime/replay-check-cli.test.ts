import { expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { crashRig, ROOT, serviceEnv, waitFor } from "../helpers.ts";
import { newUser, Person, readDb, surveyModule } from "./support.ts";

const { emulator, apiUrl, dbPath, dir, spawn } = crashRig();

function replayCheck(agentPath: string): { code: number; out: string; err: string } {
  const run = Bun.spawnSync([process.execPath, join(ROOT, "src/main.ts"), "replay-check", agentPath], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", DATABASE_PATH: dbPath },
    cwd: dir.path,
  });
  return { code: run.exitCode ?? -1, out: run.stdout.toString(), err: run.stderr.toString() };
}

test("timbre replay-check beside the running service: exit 0 for the deployed agent, exit 1 and one line for a changed question; nothing sent, nothing written", async () => {
  writeFileSync(join(dir.path, "bot.ts"), surveyModule("city?"));
  writeFileSync(join(dir.path, "bot-next.ts"), surveyModule("which city?"));
  const service = await spawn(serviceEnv(emulator, apiUrl, dbPath, { AGENT: join(dir.path, "bot.ts"), SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }));
  const person = new Person(emulator, newUser("Checked"));
  expect(await person.say("go")).toBe("name?");
  expect(await person.say("Ana")).toBe("hello Ana");
  expect(await person.hear()).toBe("city?");
  await waitFor(() => readDb<{ n: number }>(dbPath, "SELECT count(*) AS n FROM outbox WHERE status != 'sent'")[0]!.n === 0, "the question to be sent");
  const [run] = readDb<{ id: number; agent_version: string }>(dbPath, "SELECT id, agent_version FROM runs");
  const calls = emulator.calls.length;
  const files = () => [dbPath, `${dbPath}-wal`].map((path) => readFileSync(path));
  const before = files();

  const same = replayCheck("./bot.ts");
  expect(same.code).toBe(0);
  expect(same.out).toBe("");
  expect(same.err).toContain("1 running or waiting run checked against");
  expect(same.err).toContain(": all replay");

  const changed = replayCheck("./bot-next.ts");
  expect(changed.code).toBe(1);
  expect(changed.out).toBe(
    `run ${run!.id} (conversation ${person.chatId}, waiting, started by ${join(dir.path, "bot.ts")} ${run!.agent_version}): step 2: the journal has ask "city?" but the agent now makes ask "which city?"\n`,
  );
  expect(changed.err).toContain(": 1 would not replay");

  expect(emulator.calls.length).toBe(calls);
  expect(files().map((now, i) => now.equals(before[i]!))).toEqual([true, true]);
  // The service never noticed: the run still takes its answer.
  expect(await person.say("Lima")).toBe("thanks");
  expect(await service.terminate()).toBe(0);
});

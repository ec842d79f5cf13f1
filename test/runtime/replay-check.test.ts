import { expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { readFileSync } from "node:fs";
import type { Agent } from "../../src/runtime/context.ts";
import { problemLine, replayCheck } from "../../src/runtime/replay-check.ts";
import { serviceRig, connectWebhook, serviceEnv, startInProcess, waitFor } from "../helpers.ts";
import { newUser, Person } from "./support.ts";

const { emulator, apiUrl, dir, services } = serviceRig();

const survey =
  (secondQuestion: string): Agent =>
  async (ctx) => {
    const name = await ctx.ask("name?");
    const id = await ctx.step("lookup", () => name.length);
    await ctx.reply(`hello ${name} #${id}`);
    await ctx.ask(secondQuestion);
    await ctx.reply("thanks");
  };

test("replay-check passes the unchanged agent, names the first mismatching step of a changed one, and changes nothing", async () => {
  const dbPath = `${dir.path}/check.db`;
  const service = await startInProcess(serviceEnv(emulator, apiUrl, dbPath, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }), { agent: survey("city?") });
  services.push(service);
  await connectWebhook(emulator, service.url);
  const early = new Person(emulator, newUser("Early"));
  const late = new Person(emulator, newUser("Late"));
  expect(await early.say("go")).toBe("name?");
  expect(await late.say("go")).toBe("name?");
  expect(await late.say("Lu")).toBe("hello Lu #2");
  expect(await late.hear()).toBe("city?");
  await waitFor(() => service.runtime.counts().waiting === 2, "both runs to wait");
  await service.outbox.whenIdle();
  const sentBefore = emulator.calls.length;
  const filesBefore = [readFileSync(dbPath), readFileSync(`${dbPath}-wal`)];

  // Beside the running service.
  expect(await replayCheck(dbPath, survey("city?"))).toEqual({ checked: 2, problems: [] });
  const changed = await replayCheck(dbPath, survey("which city?"));
  expect(changed.checked).toBe(2);
  const [runEarly, runLate] = service.runtime.list({ limit: 2 }).reverse();
  // The early run has not reached the changed question: it still replays.
  expect(changed.problems.map(problemLine)).toEqual([
    `run ${runLate!.id} (conversation ${late.chatId}, waiting, started by coach ${runLate!.agentVersion}): step 3: the journal has ask "city?" but the agent now makes ask "which city?"`,
  ]);
  expect(runEarly!.status).toBe("waiting");

  expect(emulator.calls.length).toBe(sentBefore);
  expect([readFileSync(dbPath), readFileSync(`${dbPath}-wal`)].map((now, i) => now.equals(filesBefore[i]!))).toEqual([true, true]);
  expect(service.runtime.counts().waiting).toBe(2);
});

test("a run whose question has just timed out (running again, about to end failed) replays fine", async () => {
  const dbPath = `${dir.path}/timed-out.db`;
  const service = await startInProcess(serviceEnv(emulator, apiUrl, dbPath, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }), { agent: survey("city?") });
  services.push(service);
  await connectWebhook(emulator, service.url);
  const person = new Person(emulator, newUser("Slow"));
  expect(await person.say("go")).toBe("name?");
  await waitFor(() => service.runtime.counts().waiting === 1, "the run to wait");
  await service.stop();
  services.splice(services.indexOf(service), 1);
  // What settling the deadline writes before the run's next execution ends it (replay-check may run in between).
  const sqlite = new Database(dbPath);
  sqlite.exec("UPDATE run_steps SET state = 'timed_out' WHERE kind = 'ask' AND state = 'waiting'; UPDATE runs SET status = 'running' WHERE status = 'waiting'");
  sqlite.close();
  expect(await replayCheck(dbPath, survey("city?"))).toEqual({ checked: 1, problems: [] });
});


test("a run between a step's attempts replays fine, and the check makes no attempt of its own", async () => {
  const dbPath = `${dir.path}/retrying.db`;
  let attempts = 0;
  const charging: Agent = async (ctx) => {
    await ctx.reply("charging");
    await ctx.step("charge", () => {
      attempts++;
      throw new Error("declined");
    }, { retries: 5, backoffSeconds: 60 });
  };
  const service = await startInProcess(serviceEnv(emulator, apiUrl, dbPath, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }), { agent: charging });
  services.push(service);
  await connectWebhook(emulator, service.url);
  expect(await new Person(emulator, newUser("Card")).say("go")).toBe("charging");
  const sqlite = new Database(dbPath, { readonly: true });
  await waitFor(() => sqlite.query("SELECT state FROM run_steps WHERE text = 'charge'").get() !== null, "the failed attempt to be journaled");
  sqlite.close();
  expect(attempts).toBe(1);
  // During the 60 s backoff, beside the running service.
  expect(await replayCheck(dbPath, charging)).toEqual({ checked: 1, problems: [] });
  expect(attempts).toBe(1);
});

test("a mismatch in a step started beside one between attempts (one Promise.all) is found", async () => {
  const dbPath = `${dir.path}/retrying-beside.db`;
  const charging =
    (secondStep: string): Agent =>
    async (ctx) => {
      await ctx.reply("charging");
      await Promise.all([
        ctx.step("charge", () => {
          throw new Error("declined");
        }, { retries: 5, backoffSeconds: 60 }),
        ctx.step(secondStep, () => "receipt"),
      ]);
    };
  const service = await startInProcess(serviceEnv(emulator, apiUrl, dbPath, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }), { agent: charging("receipt") });
  services.push(service);
  await connectWebhook(emulator, service.url);
  expect(await new Person(emulator, newUser("Twin")).say("go")).toBe("charging");
  const sqlite = new Database(dbPath, { readonly: true });
  await waitFor(() => (sqlite.query("SELECT count(*) AS n FROM run_steps WHERE kind = 'step'").get() as { n: number }).n === 2, "both steps to be journaled");
  sqlite.close();
  expect(await replayCheck(dbPath, charging("receipt"))).toEqual({ checked: 1, problems: [] });
  const changed = await replayCheck(dbPath, charging("invoice"));
  expect(changed.problems.map((p) => p.problem)).toEqual([`step 2: the journal has step "receipt" but the agent now makes step "invoice"`]);
});

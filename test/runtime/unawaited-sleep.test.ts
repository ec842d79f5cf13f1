import { expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import type { Agent } from "../../src/runtime/context.ts";
import { serviceRig, connectWebhook, serviceEnv, startInProcess, waitFor } from "../helpers.ts";
import { gate, newUser, Person, readDb, ShiftableClock } from "./support.ts";

const { emulator, apiUrl, dir, services } = serviceRig();

// README, "Write your own agent": "Returning ends the run `done`". SPEC, "Agent runtime": "Per
// conversation at most one run at a time. A message that arrives while the run waits on `ask` is the answer."
test("a run that returned without awaiting ctx.sleep stays done: the sleep's end does not execute it again beside the conversation's next run", async () => {
  const clock = new ShiftableClock();
  const held = gate();
  let reminderExecutions = 0;
  const agent: Agent = async (ctx) => {
    if (ctx.text === "remind me") {
      reminderExecutions++;
      if (reminderExecutions > 1) await held.opened; // an execution after the run ended: hold it to look at it
      await ctx.reply("noted");
      void ctx.sleep(60); // forgot `await`, then returned
      return;
    }
    const name = await ctx.ask("name?");
    await ctx.reply(`hi ${name}`);
  };
  const dbPath = `${dir.path}/unawaited.db`;
  const service = await startInProcess(serviceEnv(emulator, apiUrl, dbPath, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }), { agent, clock });
  services.push(service);
  await connectWebhook(emulator, service.url);
  const runs = () => readDb<{ id: number; status: string }>(dbPath, "SELECT id, status FROM runs ORDER BY id").map((run) => `${run.id}:${run.status}`);
  try {
    const person = new Person(emulator, newUser("Forgetful"));
    expect(await person.say("remind me")).toBe("noted");
    await waitFor(() => runs()[0] === "1:done", "the first run to end done");
    expect(await person.say("hello")).toBe("name?");
    await waitFor(() => runs()[1] === "2:waiting", "the second run to wait on its question");

    clock.advance(61_000); // the forgotten sleep's end
    await Bun.sleep(500);
    // The first run returned: it stays done and its agent is not executed again.
    expect({ runs: runs(), reminderExecutions }).toEqual({ runs: ["1:done", "2:waiting"], reminderExecutions: 1 });
    // The user's answer answers the question of the conversation's one active run.
    expect(await person.say("Ana", 3_000)).toBe("hi Ana");
  } finally {
    held.open();
  }
});

test("a sleep an older timbre left waiting on a run that ended done is settled at its end, and nothing runs", async () => {
  const clock = new ShiftableClock();
  let executions = 0;
  const agent: Agent = async (ctx) => {
    executions++;
    await ctx.reply("noted");
    void ctx.sleep(60);
  };
  const dbPath = `${dir.path}/older-journal.db`;
  const service = await startInProcess(serviceEnv(emulator, apiUrl, dbPath, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }), { agent, clock });
  services.push(service);
  await connectWebhook(emulator, service.url);
  const person = new Person(emulator, newUser("Older"));
  expect(await person.say("remind me")).toBe("noted");
  const sleepState = () => readDb<{ state: string }>(dbPath, "SELECT state FROM run_steps WHERE kind = 'sleep'")[0]?.state;
  await waitFor(() => readDb<{ status: string }>(dbPath, "SELECT status FROM runs")[0]?.status === "done" && sleepState() === "cancelled", "the run to end done, its sleep cancelled");
  await service.stop();
  services.splice(services.indexOf(service), 1);
  // What a timbre from before run ends cancelled such steps left in the journal.
  const sqlite = new Database(dbPath);
  sqlite.exec("UPDATE run_steps SET state = 'waiting' WHERE kind = 'sleep'");
  sqlite.close();

  const again = await startInProcess(serviceEnv(emulator, apiUrl, dbPath, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }), { agent, clock });
  services.push(again);
  clock.advance(61_000);
  await waitFor(() => sleepState() === "done", "the sleep's end to be settled");
  await Bun.sleep(300);
  expect({ runs: readDb<{ status: string }>(dbPath, "SELECT status FROM runs").map((r) => r.status), executions }).toEqual({ runs: ["done"], executions: 1 });
});

import { expect, test } from "bun:test";
import { StepFailedError, type Agent } from "../../src/runtime/context.ts";
import { serviceRig, connectWebhook, serviceEnv, startInProcess, type Service } from "../helpers.ts";
import { newUser, Person, readDb } from "./support.ts";

const { emulator, apiUrl, dir, services } = serviceRig();

async function start(name: string, agent: Agent): Promise<Service> {
  const service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/${name}.db`, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }), { agent });
  services.push(service);
  await connectWebhook(emulator, service.url);
  return service;
}

const journal = (service: Service) => readDb<{ kind: string; text: string; state: string; result: string | null; error: string | null; attempts: number | null }>(
  service.config.databasePath,
  "SELECT kind, text, state, result, error, attempts FROM run_steps ORDER BY run_id, seq",
);

test("a step runs once: its JSON result is journaled, and every later execution gets it back without calling it", async () => {
  let calls = 0;
  const agent: Agent = async (ctx) => {
    const fetched = await ctx.step("fetch", () => {
      calls++;
      return { at: new Date(Date.UTC(2026, 0, 2)), n: 7, skip: undefined };
    });
    await ctx.reply(`at ${fetched.at} n ${fetched.n} keys ${Object.keys(fetched).join(",")}`);
    const answer = await ctx.ask("more?");
    const nothing = await ctx.step("nothing", () => undefined);
    await ctx.reply(`${answer} ${typeof fetched.at} ${nothing}`);
  };
  const service = await start("once", agent);
  const person = new Person(emulator, newUser("Stepper"));
  // The first execution already gets what JSON gives back, as every replay will.
  expect(await person.say("go")).toBe("at 2026-01-02T00:00:00.000Z n 7 keys at,n");
  expect(await person.hear()).toBe("more?");
  expect(await person.say("yes")).toBe("yes string undefined");
  expect(calls).toBe(1);
  expect(journal(service)).toEqual([
    { kind: "step", text: "fetch", state: "done", result: '{"at":"2026-01-02T00:00:00.000Z","n":7}', error: null, attempts: 1 },
    { kind: "reply", text: "at 2026-01-02T00:00:00.000Z n 7 keys at,n", state: "done", result: null, error: null, attempts: null },
    { kind: "ask", text: "more?", state: "answered", result: null, error: null, attempts: null },
    { kind: "step", text: "nothing", state: "done", result: null, error: null, attempts: 1 },
    { kind: "reply", text: "yes string undefined", state: "done", result: null, error: null, attempts: null },
  ]);
});

test("a throwing step is retried with backoff until it succeeds; its attempts are journaled", async () => {
  const attemptsAt: number[] = [];
  const agent: Agent = async (ctx) => {
    const value = await ctx.step(
      "flaky",
      () => {
        attemptsAt.push(Date.now());
        if (attemptsAt.length < 3) throw new Error(`attempt ${attemptsAt.length} failed`);
        return "ok";
      },
      { retries: 3, backoffSeconds: 0.05 },
    );
    await ctx.reply(value);
  };
  const service = await start("retry", agent);
  const person = new Person(emulator, newUser("Flaky"));
  expect(await person.say("go")).toBe("ok");
  expect(attemptsAt).toHaveLength(3);
  // Backoff doubles: 50 ms, then 100 ms.
  expect(attemptsAt[1]! - attemptsAt[0]!).toBeGreaterThanOrEqual(45);
  expect(attemptsAt[2]! - attemptsAt[1]!).toBeGreaterThanOrEqual(95);
  expect(journal(service)[0]).toMatchObject({ kind: "step", state: "done", result: '"ok"', attempts: 3 });
});

test("when the retries are spent the step throws StepFailedError with the last message, and every replay throws the same without calling it", async () => {
  let calls = 0;
  const caught: unknown[] = [];
  const agent: Agent = async (ctx) => {
    try {
      await ctx.step("charge", () => {
        calls++;
        throw new Error(`card declined #${calls}`);
      }, { retries: 1, backoffSeconds: 0 });
    } catch (error) {
      caught.push(error);
      await ctx.reply(`could not charge: ${(error as Error).message}`);
    }
    await ctx.reply(`then: ${await ctx.ask("try another card?")}`);
  };
  const service = await start("failed", agent);
  const person = new Person(emulator, newUser("Declined"));
  expect(await person.say("buy")).toBe("could not charge: card declined #2");
  expect(await person.hear()).toBe("try another card?");
  expect(await person.say("no")).toBe("then: no");
  expect(calls).toBe(2);
  expect(caught).toHaveLength(2);
  for (const error of caught) expect(error).toMatchObject({ name: "StepFailedError", step: "charge", message: "card declined #2", attempts: 2 });
  expect(caught[1]).toBeInstanceOf(StepFailedError);
  expect(journal(service)[0]).toMatchObject({ kind: "step", text: "charge", state: "failed", error: "card declined #2", attempts: 2 });
});

test("agent mistakes with steps throw errors that say what to fix", async () => {
  const errors: string[] = [];
  const nested: Agent = async (ctx) => {
    try {
      await ctx.step("outer", async () => {
        await ctx.reply("from inside a step");
      }, { retries: 0 });
    } catch (error) {
      errors.push((error as Error).message);
    }
    try {
      await ctx.step("bigint", () => 1n);
    } catch (error) {
      errors.push((error as Error).message);
    }
    try {
      await ctx.step("bad options", () => 1, { retries: -1 });
    } catch (error) {
      errors.push((error as Error).message);
    }
    await ctx.reply("done");
    // The answer replays the run past those mistakes: none left a gap in the journal.
    await ctx.reply(`more? ${await ctx.ask("more?")}`);
  };
  await start("mistakes", nested);
  const person = new Person(emulator, newUser("Oops"));
  expect(await person.say("go")).toBe("done");
  expect(await person.hear()).toBe("more?");
  expect(await person.say("yes")).toBe("more? yes");
  const mistakes = [
    "ctx.reply inside a step's function: replay skips the function, so call ctx outside it",
    "ctx.step(\"bigint\"): its result is not JSON-serialisable (JSON.stringify cannot serialize BigInt.)",
    "ctx.step(\"bad options\"): retries must be a whole number from 0 to 100, got -1",
  ];
  // Once when the run made them, and the same again when the answer replayed it.
  expect(errors).toEqual([...mistakes, ...mistakes]);
  expect(emulator.sentTo(person.chatId).map((m) => m.text)).toEqual(["done", "more?", "more? yes"]);
});

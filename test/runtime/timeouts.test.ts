import { expect, test } from "bun:test";
import { coachText } from "../../src/agents/coach.ts";
import { AskTimeoutError, type Agent } from "../../src/runtime/context.ts";
import type { ServiceOptions } from "../../src/app.ts";
import { serviceRig, connectWebhook, serviceEnv, startInProcess, waitFor, type Service } from "../helpers.ts";
import { newUser, Person, ShiftableClock } from "./support.ts";

const { emulator, apiUrl, dir, services } = serviceRig();

async function start(name: string, extra: Record<string, string>, options: ServiceOptions = {}): Promise<Service> {
  const env = serviceEnv(emulator, apiUrl, `${dir.path}/${name}.db`, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "10000", ...extra });
  const service = await startInProcess(env, options);
  services.push(service);
  await connectWebhook(emulator, service.url);
  return service;
}

test("ASK_TIMEOUT_SECONDS: an unanswered question fails the run, the user is told once, the update is marked failed", async () => {
  const service = await start("env", { ASK_TIMEOUT_SECONDS: "1" });
  const person = new Person(emulator, newUser("Tim"));
  const askedAt = Date.now();
  expect(await person.say("hi")).toBe(coachText.en.goal);
  const [run] = service.runtime.list({ limit: 1 });
  expect(run!.pendingQuestion!.deadlineAt! - run!.pendingQuestion!.createdAt).toBe(1000);

  expect(await person.hear(5000)).toBe("I waited for your answer but it did not come in time, so I stopped. Send me a message to start again.");
  expect(Date.now() - askedAt).toBeGreaterThanOrEqual(900);
  const ended = service.runtime.get(run!.id)!;
  expect(ended.status).toBe("failed");
  expect(ended.error).toContain("AskTimeoutError");
  expect(service.inbox.row(run!.triggerUpdateId)?.status).toBe("failed");
  expect(service.runtime.list({ limit: 1 })[0]?.pendingQuestion).toBeNull();
  await service.outbox.whenIdle();
  expect(emulator.sentTo(person.chatId)).toHaveLength(2);

  // A late answer is a new message: it starts a new run.
  expect(await person.say("run a 10k")).toBe(coachText.en.goal);
});

test("ask(q, { timeoutSeconds }) throws AskTimeoutError the agent can catch and carry on from", async () => {
  let caught: unknown;
  const patient: Agent = async (ctx) => {
    try {
      await ctx.ask("quick: yes or no?", { timeoutSeconds: 1 });
    } catch (error) {
      caught = error;
      await ctx.reply("No answer; I'll assume no.");
    }
    await ctx.reply(`name? ${await ctx.ask("What is your name?")}`);
  };
  const service = await start("option", {}, { agent: patient });
  const person = new Person(emulator, newUser("Kim", "es"));
  expect(await person.say("start")).toBe("quick: yes or no?");
  expect(await person.hear(5000)).toBe("No answer; I'll assume no.");
  expect(caught).toBeInstanceOf(AskTimeoutError);
  expect((caught as AskTimeoutError).question).toBe("quick: yes or no?");
  expect(await person.hear()).toBe("What is your name?");
  // The second question has the default timeout (a day), so it simply waits.
  const [run] = service.runtime.list({ limit: 1 });
  expect(run!.status).toBe("waiting");
  expect(run!.pendingQuestion!.deadlineAt! - run!.pendingQuestion!.createdAt).toBe(86_400_000);
  expect(await person.say("Kim")).toBe("name? Kim");
  await waitFor(() => service.runtime.get(run!.id)?.status === "done", "the run to end done");
});

test("an injected clock: the default one-day timeout fires when the clock passes the stored deadline, not before", async () => {
  const clock = new ShiftableClock();
  const service = await start("clock", {}, { clock });
  const person = new Person(emulator, newUser("Day", "es"));
  expect(await person.say("hola")).toBe(coachText.es.goal);
  const [run] = service.runtime.list({ limit: 1 });
  const deadline = run!.pendingQuestion!.deadlineAt!;
  expect(deadline - run!.pendingQuestion!.createdAt).toBe(86_400_000);

  clock.advance(deadline - clock.now() - 5_000);
  expect(service.runtime.get(run!.id)?.status).toBe("waiting");
  clock.advance(5_000);
  expect(await person.hear()).toBe("Esperé tu respuesta pero no llegó a tiempo, así que me detuve. Envíame un mensaje para empezar de nuevo.");
  expect(service.runtime.get(run!.id)?.status).toBe("failed");
});

test("ask(q, { timeoutSeconds }) refuses a timeout that is not a positive number of seconds, before asking anything", async () => {
  const errors: string[] = [];
  const agent: Agent = async (ctx) => {
    for (const timeoutSeconds of [-1, 0, Number.NaN, Infinity, "60" as unknown as number, 366 * 86_400]) {
      try {
        await ctx.ask("when?", { timeoutSeconds });
      } catch (error) {
        errors.push((error as Error).message);
      }
    }
    await ctx.reply("checked");
  };
  await start("bad-timeouts", {}, { agent });
  const person = new Person(emulator, newUser("Tia"));
  expect(await person.say("go")).toBe("checked");
  expect(errors).toHaveLength(6);
  expect(errors[0]).toBe("ctx.ask: timeoutSeconds must be a number of seconds above 0 and at most 31536000 (a year), got -1");
  expect(errors[2]).toContain("got NaN");
  expect(errors[4]).toContain('got "60"');
});


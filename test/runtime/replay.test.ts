import { expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { serviceRig, connectWebhook, serviceEnv, startInProcess, waitFor, type Service } from "../helpers.ts";
import { capturingLogger, newUser, Person } from "./support.ts";

const { emulator, apiUrl, dir, services } = serviceRig();

async function start(name: string, agent: Agent, logger = capturingLogger()): Promise<Service> {
  const service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/${name}.db`, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }), { agent, logger });
  services.push(service);
  await connectWebhook(emulator, service.url);
  return service;
}

test("each wake replays the agent from the start: recorded steps return their results without sending, also after a restart", async () => {
  let executions = 0;
  const seen: string[] = [];
  const agent: Agent = async (ctx) => {
    executions++;
    await ctx.reply("hello");
    const name = await ctx.ask("name?");
    seen.push(name);
    await ctx.reply(`hi ${name}`);
    const city = await ctx.ask("city?");
    await ctx.reply(`${name} from ${city}`);
  };
  const first = await start("replay", agent);
  const person = new Person(emulator, newUser("Rep"));
  expect(await person.say("go")).toBe("hello");
  expect(await person.hear()).toBe("name?");
  expect(executions).toBe(1);
  expect(await person.say("Ana")).toBe("hi Ana");
  expect(await person.hear()).toBe("city?");
  // The answer executed the run again from its journal.
  expect(executions).toBe(2);
  await first.stop();

  // A waiting run holds no execution, also after a restart: it is only its journal.
  const second = await start("replay", agent);
  expect(second.runtime.counts().waiting).toBe(1);
  expect(second.runtime.executing).toBe(0);
  expect(executions).toBe(2);
  expect(await person.say("Lima")).toBe("Ana from Lima");
  expect(executions).toBe(3);
  expect(seen).toEqual(["Ana", "Ana"]);
  expect(emulator.sentTo(person.chatId).map((m) => m.text)).toEqual(["hello", "name?", "hi Ana", "city?", "Ana from Lima"]);
});

test("an agent whose calls changed fails its waiting run with ReplayMismatchError when it wakes, says the bot was updated, and frees the conversation", async () => {
  const before: Agent = async (ctx) => {
    await ctx.reply("thinking...");
    await ctx.ask("first question?");
  };
  const after: Agent = async (ctx) => {
    await ctx.ask("a question first, this time?");
  };
  const first = await start("mismatch", before);
  const person = new Person(emulator, newUser("Mis"));
  expect(await person.say("go")).toBe("thinking...");
  expect(await person.hear()).toBe("first question?");
  await first.stop();

  const log = capturingLogger();
  const second = await start("mismatch", after, log);
  expect(await person.say("an answer")).toBe("I was updated while we were talking, so I cannot go on with this conversation. Send me your next message and we start afresh.");
  const [run] = second.runtime.list({ limit: 1 });
  expect(run?.status).toBe("failed");
  expect(run?.error).toBe('ReplayMismatchError: step 0: the journal has reply "thinking..." but the agent now makes ask "a question first, this time?"');
  expect(log.lines.find((line) => line.level === "error")).toMatchObject({ run_id: run!.id, chat_id: person.chatId, error_name: "ReplayMismatchError" });
  await second.outbox.whenIdle();
  expect(emulator.sentTo(person.chatId)).toHaveLength(3);
  // The conversation is free at once: the next message starts a fresh run of the new code.
  expect(await person.say("again")).toBe("a question first, this time?");
});

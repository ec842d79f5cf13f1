import { expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import type { ServiceOptions } from "../../src/app.ts";
import { serviceRig, connectWebhook, serviceEnv, startInProcess, waitFor, type Service } from "../helpers.ts";
import { gate, newUser, Person, ShiftableClock } from "./support.ts";

const { emulator, apiUrl, dir, services } = serviceRig();

async function start(name: string, agent: Agent, extra: Record<string, string> = {}, options: ServiceOptions = {}): Promise<Service> {
  const env = serviceEnv(emulator, apiUrl, `${dir.path}/${name}.db`, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000", ...extra });
  const service = await startInProcess(env, { agent, ...options });
  services.push(service);
  await connectWebhook(emulator, service.url);
  return service;
}

test("a sleeping run holds no slot: with MAX_CONCURRENCY=1 other chats run while it sleeps, and it wakes when its time comes", async () => {
  const clock = new ShiftableClock();
  const agent: Agent = async (ctx) => {
    if (ctx.text === "nap") {
      await ctx.reply("sleeping for a day");
      await ctx.sleep(86_400);
      await ctx.reply("good morning");
      return;
    }
    await ctx.reply(`echo ${ctx.text}`);
  };
  const service = await start("slots", agent, { MAX_CONCURRENCY: "1" }, { clock });
  const sleeper = new Person(emulator, newUser("Sleeper"));
  expect(await sleeper.say("nap")).toBe("sleeping for a day");
  await waitFor(() => service.runtime.counts().waiting === 1 && service.runtime.executing === 0, "the run to sleep with no execution");
  const other = new Person(emulator, newUser("Awake"));
  expect(await other.say("hi")).toBe("echo hi");
  clock.advance(86_399_000);
  expect(service.runtime.counts().waiting).toBe(1);
  clock.advance(1_000);
  expect(await sleeper.hear()).toBe("good morning");
  expect(service.runtime.list({ limit: 2 }).map((run) => run.status)).toEqual(["done", "done"]);
});

test("a text sent while the run sleeps waits for it, and starts the next run when it ends; /cancel ends a sleep at once", async () => {
  const clock = new ShiftableClock();
  const agent: Agent = async (ctx) => {
    await ctx.reply(`start ${ctx.text}`);
    await ctx.sleep(60);
    await ctx.reply(`end ${ctx.text}`);
  };
  const service = await start("parked", agent, {}, { clock });
  const person = new Person(emulator, newUser("Napper"));
  expect(await person.say("a")).toBe("start a");
  emulator.sendText(person.user, "b");
  await waitFor(() => service.inbox.list({ status: "processing", limit: 5 }).length === 2, "b to wait behind the sleeping run");
  clock.advance(60_000);
  expect(await person.hear()).toBe("end a");
  expect(await person.hear()).toBe("start b");
  expect(await person.say("/cancel")).toBe("Cancelled.");
  clock.advance(60_000);
  await service.outbox.whenIdle();
  expect(emulator.sentTo(person.chatId).map((m) => m.text)).toEqual(["start a", "end a", "start b", "Cancelled."]);
});

test("ctx.memory is the conversation's memory as the run started, across its replays; remember is refused over 256 KiB", async () => {
  const ran = gate();
  let tooBig = "";
  const agent: Agent<{ names: string[]; blob?: string }> = async (ctx) => {
    const names = [...(ctx.memory?.names ?? []), ctx.text ?? ""];
    await ctx.remember({ names });
    const answer = await ctx.ask(`now ${names.join(",")}; memory was ${JSON.stringify(ctx.memory ?? null)}. ok?`);
    try {
      await ctx.remember({ names, blob: "x".repeat(256 * 1024) });
    } catch (error) {
      tooBig = (error as Error).message;
    }
    await ctx.reply(`${answer}; memory still ${JSON.stringify(ctx.memory ?? null)}`);
    ran.open();
  };
  await start("memory", agent);
  const person = new Person(emulator, newUser("Rememberer"));
  expect(await person.say("ana")).toBe("now ana; memory was null. ok?");
  expect(await person.say("yes")).toBe("yes; memory still null");
  await ran.opened;
  expect(tooBig).toBe("ctx.remember: the value is 257 KiB of JSON; memory holds at most 256 KiB");
  expect(await person.say("bo")).toBe('now ana,bo; memory was {"names":["ana"]}. ok?');
  expect(await person.say("fine")).toBe('fine; memory still {"names":["ana"]}');
  // Another user's conversation has its own memory.
  const stranger = new Person(emulator, newUser("Stranger"));
  expect(await stranger.say("cy")).toBe("now cy; memory was null. ok?");
});

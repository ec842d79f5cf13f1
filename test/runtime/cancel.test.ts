import { expect, test } from "bun:test";
import { coach, coachText } from "../../src/agents/coach.ts";
import type { Agent } from "../../src/runtime/context.ts";
import { serviceRig, connectWebhook, serviceEnv, startInProcess, waitFor, type Service } from "../helpers.ts";
import { gate, newUser, Person } from "./support.ts";

const { emulator, apiUrl, dir, services } = serviceRig();

async function start(name: string, agent?: Agent): Promise<Service> {
  const env = serviceEnv(emulator, apiUrl, `${dir.path}/${name}.db`, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "10000" });
  const service = await startInProcess(env, agent ? { agent } : {});
  services.push(service);
  await connectWebhook(emulator, service.url);
  return service;
}

test("/cancel while a question waits: the run is cancelled, the user told, and the next text starts afresh", async () => {
  const service = await start("waiting");
  const person = new Person(emulator, newUser("Cai"));
  expect(await person.say("plan please")).toBe(coachText.en.goal);
  expect(await person.say("run a 5k")).toBe(coachText.en.days);
  const [run] = service.runtime.list({ limit: 1, status: "waiting" });
  expect(run?.chatId).toBe(person.chatId);

  expect(await person.say("/cancel")).toBe("Cancelled.");
  expect(service.runtime.get(run!.id)?.status).toBe("cancelled");
  expect(service.runtime.list({ limit: 10, status: "waiting" })).toHaveLength(0);
  expect(service.inbox.row(run!.triggerUpdateId)?.status).toBe("done");

  // The old question is gone: "3" is not its answer, it starts a new run that asks the goal.
  expect(await person.say("3")).toBe(coachText.en.goal);
  const runs = service.runtime.list({ limit: 10 });
  expect(runs.map((r) => r.status)).toEqual(["waiting", "cancelled"]);
  expect(await person.say("/cancel")).toBe("Cancelled.");
  expect(await person.say("/cancel")).toBe("There is nothing to cancel.");
  expect(emulator.sentTo(person.chatId)).toHaveLength(6);
});

test("/cancel while the run is busy: ctx.signal aborts at once, later replies send nothing, Spanish reply", async () => {
  const started = gate();
  const release = gate();
  let aborted: boolean | undefined;
  let replyError: unknown;
  const slow: Agent = async (ctx) => {
    await ctx.reply(`working on ${ctx.text}`);
    started.open();
    await Promise.race([release.opened, new Promise((resolve) => ctx.signal.addEventListener("abort", resolve))]);
    aborted = ctx.signal.aborted;
    await release.opened; // an agent that ignores the signal for a while
    try {
      await ctx.reply("too late");
    } catch (error) {
      replyError = error;
    }
  };
  const service = await start("busy", slow);
  const person = new Person(emulator, newUser("Eva", "es"));
  expect(await person.say("tarea larga")).toBe("working on tarea larga");
  await started.opened;
  expect(await person.say("/cancel")).toBe("Cancelado.");
  await waitFor(() => aborted !== undefined, "the agent to see the abort");
  expect(aborted).toBe(true);
  const [run] = service.runtime.list({ limit: 1 });
  expect(run?.status).toBe("cancelled");

  release.open();
  await waitFor(() => replyError !== undefined, "the late reply to be refused");
  expect((replyError as Error).name).toBe("RunCancelledError");
  await waitFor(() => service.runtime.executing === 0, "the cancelled execution to finish");
  await service.outbox.whenIdle();
  expect(emulator.sentTo(person.chatId).map((m) => m.text)).toEqual(["working on tarea larga", "Cancelado."]);
  expect(service.runtime.get(run!.id)?.status).toBe("cancelled");
});

test("the admin cancel ends a waiting run the same way, with its pending question", async () => {
  const service = await start("admin", coach);
  const person = new Person(emulator, newUser("Ivo"));
  expect(await person.say("go")).toBe(coachText.en.goal);
  const [run] = service.runtime.list({ limit: 1, status: "waiting" });
  expect(run?.pendingQuestion?.text).toBe(coachText.en.goal);
  expect((await service.runtime.cancel(run!.id)).kind).toBe("cancelled");
  expect(await person.hear()).toBe("Cancelled.");
  expect(await service.runtime.cancel(run!.id)).toEqual({ kind: "not_active", status: "cancelled" });
  expect(service.runtime.list({ limit: 1 })[0]?.pendingQuestion).toBeNull();
  expect(await person.say("again")).toBe(coachText.en.goal);
});

import { expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { serviceRig, connectWebhook, serviceEnv, startInProcess, waitFor } from "../helpers.ts";
import { newUser, Person, readDb, ShiftableClock } from "./support.ts";

const { emulator, apiUrl, dir, services } = serviceRig();

// SPEC, "Agent runtime": "A message that arrives while the run waits on `ask` is the answer."
test("a question asked beside a sleep (one Promise.all) is answered by the next text, before the sleep ends", async () => {
  const clock = new ShiftableClock();
  const agent: Agent = async (ctx) => {
    // At least a minute, and the user's answer: both at once.
    const [, answer] = await Promise.all([ctx.sleep(60), ctx.ask("what should I remind you of in a minute?")]);
    await ctx.reply(`reminder: ${answer}`);
  };
  const dbPath = `${dir.path}/beside.db`;
  const service = await startInProcess(serviceEnv(emulator, apiUrl, dbPath, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }), { agent, clock });
  services.push(service);
  await connectWebhook(emulator, service.url);
  const person = new Person(emulator, newUser("Both"));
  expect(await person.say("go")).toBe("what should I remind you of in a minute?");
  emulator.sendText(person.user, "milk");
  await waitFor(() => service.inbox.list({ limit: 5 }).every((update) => update.status !== "received"), "the answer to be routed");
  await Bun.sleep(200);
  const steps = () => readDb<{ seq: number; kind: string; state: string; answer: string | null }>(dbPath, "SELECT seq, kind, state, answer FROM run_steps ORDER BY seq");
  clock.advance(61_000);
  // Wait for the run's reply (or give up after 5 s and show what happened instead).
  await waitFor(() => emulator.sentTo(person.chatId).length >= 2, "the reminder", 5_000).catch(() => {});
  await service.outbox.whenIdle();
  // The text answered the question; once the sleep is over too, the run goes on with it.
  expect({ sent: emulator.sentTo(person.chatId).map((m) => m.text), steps: steps() }).toEqual({
    sent: ["what should I remind you of in a minute?", "reminder: milk"],
    steps: [
      { seq: 0, kind: "sleep", state: "done", answer: null },
      { seq: 1, kind: "ask", state: "answered", answer: "milk" },
      { seq: 2, kind: "reply", state: "done", answer: null },
    ],
  });
});

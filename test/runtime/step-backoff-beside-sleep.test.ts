/**
 * README "Steps, memory, sleep": "Each failed attempt is journaled before its backoff ... and the run
 * waits out the backoff as a sleeping one does: it holds no slot (other chats go on, even with every
 * slot's step failing against an API that is down), and it is woken for the next attempt".
 *
 * A step and a sleep started together (`Promise.all`, which README allows for steps): the sleep ends
 * first, the run is woken, and its replay then waits out the rest of the step's backoff inside the
 * execution (step-runner.ts `await wait(clock, resumed.retryAt - clock.now(), ...)`), holding its
 * MAX_CONCURRENCY slot the whole time.
 */
import { expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { serviceRig, connectWebhook, serviceEnv, startInProcess, waitFor } from "../helpers.ts";
import { failsOnce, newUser, Person, readDb, ShiftableClock } from "./support.ts";

const { emulator, apiUrl, dir, services } = serviceRig();

test("with MAX_CONCURRENCY=1, a run whose sleep ended while its step is still in backoff keeps no slot from another chat", async () => {
  const clock = new ShiftableClock();
  const charge = failsOnce("receipt-1");
  const agent: Agent = async (ctx) => {
    if (ctx.text !== "pay") return ctx.reply(`echo ${ctx.text}`);
    const [receipt] = await Promise.all([ctx.step("charge", charge.fn, { retries: 3, backoffSeconds: 60 }), ctx.sleep(1)]);
    await ctx.reply(`charged: ${receipt}`);
  };
  const env = serviceEnv(emulator, apiUrl, `${dir.path}/sleep-and-backoff.db`, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000", MAX_CONCURRENCY: "1" });
  const service = await startInProcess(env, { agent, clock });
  services.push(service);
  await connectWebhook(emulator, service.url);
  const db = service.config.databasePath;

  const payer = new Person(emulator, newUser("Payer"));
  emulator.sendText(payer.user, "pay");
  await waitFor(() => readDb(db, "SELECT 1 FROM run_steps WHERE text = 'charge' AND state = 'retrying'").length === 1, "the failed attempt to be journaled");
  await waitFor(() => readDb(db, "SELECT 1 FROM run_steps WHERE kind = 'sleep' AND state = 'waiting'").length === 1, "the sleep to be journaled");
  await waitFor(() => service.runtime.counts().waiting === 1 && service.runtime.executing === 0, "the run to wait with no execution");

  // The sleep ends; the step's backoff has 59 s to go.
  clock.advance(1_000);
  await waitFor(() => readDb(db, "SELECT 1 FROM run_steps WHERE kind = 'sleep' AND state = 'done'").length === 1, "the sleep to end");
  await Bun.sleep(200);

  const other = new Person(emulator, newUser("Other"));
  expect(await other.say("hi", 5_000)).toBe("echo hi");
  expect(charge.attempts).toBe(1);
}, 20_000);

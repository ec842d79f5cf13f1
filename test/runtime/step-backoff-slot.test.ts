/**
 * A step between attempts holds no concurrency slot: its run waits, as a sleeping one does, and
 * is woken when the backoff ends. Held, a slot would keep every other chat waiting for up to
 * 60 s per failed attempt (an outside API down fails every run's step at once).
 */
import { expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { serviceRig, connectWebhook, serviceEnv, startInProcess, waitFor } from "../helpers.ts";
import { failsOnce, newUser, Person, readDb, ShiftableClock } from "./support.ts";

const { emulator, apiUrl, dir, services } = serviceRig();

test("with MAX_CONCURRENCY=1 another chat is answered during a step's backoff, and the step is tried again when the backoff ends", async () => {
  const clock = new ShiftableClock();
  const charge = failsOnce("receipt-1");
  const agent: Agent = async (ctx) => {
    if (ctx.text !== "pay") return ctx.reply(`echo ${ctx.text}`);
    const receipt = await ctx.step("charge", charge.fn, { retries: 3, backoffSeconds: 60 });
    await ctx.reply(`charged: ${receipt}`);
  };
  const env = serviceEnv(emulator, apiUrl, `${dir.path}/backoff-slot.db`, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000", MAX_CONCURRENCY: "1" });
  const service = await startInProcess(env, { agent, clock });
  services.push(service);
  await connectWebhook(emulator, service.url);
  const db = service.config.databasePath;

  const payer = new Person(emulator, newUser("Payer"));
  emulator.sendText(payer.user, "pay");
  await waitFor(() => readDb(db, "SELECT 1 FROM run_steps WHERE text = 'charge' AND state = 'retrying' AND attempts = 1").length === 1, "the failed attempt to be journaled");
  await waitFor(() => service.runtime.counts().waiting === 1 && service.runtime.executing === 0, "the run to wait out its backoff with no execution");

  const other = new Person(emulator, newUser("Other"));
  expect(await other.say("hi")).toBe("echo hi");
  expect(charge.attempts).toBe(1);

  clock.advance(59_000);
  expect(service.runtime.counts().waiting).toBe(1);
  clock.advance(1_000);
  expect(await payer.hear()).toBe("charged: receipt-1");
  expect(charge.attempts).toBe(2);
  expect(readDb(db, "SELECT state, attempts FROM run_steps WHERE text = 'charge'")).toEqual([{ state: "done", attempts: 2 }]);
  expect(service.runtime.list({ limit: 2 }).map((run) => run.status)).toEqual(["done", "done"]);
});

test("a run that fails between a step's attempts (its code changed: a replay mismatch) leaves the step cancelled, not retrying", async () => {
  const clock = new ShiftableClock();
  const failing: Agent = async (ctx) => {
    await ctx.step("charge", () => Promise.reject(new Error("payment service down")), { retries: 3, backoffSeconds: 60 });
  };
  const renamed: Agent = async (ctx) => {
    await ctx.step("charge the card", () => "receipt");
  };
  const env = serviceEnv(emulator, apiUrl, `${dir.path}/backoff-mismatch.db`, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });
  const before = await startInProcess(env, { agent: failing, clock });
  await connectWebhook(emulator, before.url);
  const db = before.config.databasePath;
  const payer = new Person(emulator, newUser("Deployer"));
  emulator.sendText(payer.user, "pay");
  await waitFor(() => readDb(db, "SELECT 1 FROM run_steps WHERE state = 'retrying'").length === 1, "the failed attempt to be journaled");
  await before.stop();

  const after = await startInProcess(env, { agent: renamed, clock });
  services.push(after);
  await connectWebhook(emulator, after.url);
  clock.advance(60_000);
  await waitFor(() => readDb<{ status: string }>(db, "SELECT status FROM runs")[0]?.status === "failed", "the run to fail on the changed code");
  expect(readDb(db, "SELECT text, state FROM run_steps")).toEqual([{ text: "charge", state: "cancelled" }]);
});

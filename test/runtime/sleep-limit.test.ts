/**
 * ctx.sleep is "a durable timer"; GET /admin/runs/{id} shows "every step in order (..., times)".
 * A sleep of 1e13 seconds was accepted and its deadline was past what a Date can hold, so the
 * run's detail answered 500. ctx.sleep now takes 0 to ten years, and the longest shows fine.
 */
import { expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { serviceRig, waitFor } from "../helpers.ts";
import { newUser, Person, readDb } from "./support.ts";

const ADMIN_TOKEN = "admin-token-for-tests_0123456789";
const rig = serviceRig();

test("ctx.sleep over ten years throws a TypeError saying the range; a ten-year sleep is journaled and shown by GET /admin/runs/{id}", async () => {
  const agent: Agent = async (ctx) => {
    try {
      await ctx.sleep(1e13);
    } catch (error) {
      await ctx.reply(`refused: ${(error as Error).message}`);
    }
    await ctx.sleep(10 * 365 * 86_400);
  };
  const service = await rig.start({ ADMIN_TOKEN, SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }, { agent });
  const person = new Person(rig.emulator, newUser("Sleeper"));
  expect(await person.say("go")).toBe("refused: ctx.sleep needs a number of seconds from 0 to 315360000 (ten years), got 10000000000000");
  await waitFor(() => readDb(service.config.databasePath, "SELECT 1 FROM run_steps WHERE kind = 'sleep' AND state = 'waiting'").length === 1, "the sleep to be journaled");
  const [run] = readDb<{ id: number }>(service.config.databasePath, "SELECT id FROM runs");
  const response = await fetch(`${service.url}/admin/runs/${run!.id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(response.status).toBe(200);
  const detail = (await response.json()) as { journal: { kind: string; state: string; deadline_at: string | null }[] };
  const sleep = detail.journal.find((entry) => entry.kind === "sleep")!;
  expect(sleep.state).toBe("waiting");
  expect(new Date(sleep.deadline_at!).getUTCFullYear()).toBeGreaterThan(new Date().getUTCFullYear() + 9);
});

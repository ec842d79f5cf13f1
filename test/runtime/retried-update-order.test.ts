/**
 * SPEC "Agent runtime": "A message that arrives while the run waits on `ask` is the answer", and
 * README "Admin API": POST /admin/updates/{id}/retry: "the failed update is handled again in its
 * chat's order". A failed update retried while a later run of its conversation waits on a
 * question is older than that run: it waits for the run to end, and never answers its question.
 */
import { expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { serviceRig, waitFor } from "../helpers.ts";
import { newUser, Person } from "./support.ts";

const ADMIN_TOKEN = "admin-token-for-audit_0123456789";
const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };
const SORRY = "Sorry, something went wrong on my side. Please try again.";
const rig = serviceRig();

test("a retried failed update waits its turn behind a waiting run; it never answers that run's question", async () => {
  let broken = true;
  const agent: Agent = async (ctx) => {
    if (ctx.text === "make my plan") {
      if (broken) throw new Error("the plan service is down");
      await ctx.reply("here is your plan");
      return;
    }
    if (ctx.text === "survey") {
      const colour = await ctx.ask("Favourite colour?");
      await ctx.reply(`colour: ${colour}`);
      return;
    }
    if (ctx.text !== undefined) await ctx.reply(`echo ${ctx.text}`);
  };
  const service = await rig.start({ ADMIN_TOKEN, SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }, { agent });
  const person = new Person(rig.emulator, newUser("Retry"));

  expect(await person.say("make my plan")).toBe(SORRY);
  const [dead] = service.inbox.list({ status: "failed", limit: 10 }).filter((row) => row.chatId === person.chatId);
  expect(dead).toBeDefined();

  // A later run of the same conversation asks a question and waits.
  expect(await person.say("survey")).toBe("Favourite colour?");
  // The operator fixes the agent and retries the dead letter.
  broken = false;
  const retried = await fetch(`${service.url}/admin/updates/${dead!.updateId}/retry`, { method: "POST", headers: AUTH });
  expect(retried.status).toBe(200);
  await waitFor(() => service.inbox.row(dead!.updateId)?.status !== "received", "the retried update to be routed");

  // The user answers the question they were asked.
  rig.emulator.sendText(person.user, "blue");
  await waitFor(() => rig.emulator.sentTo(person.chatId).length >= 4, "the answer and the retried update to be handled");
  await service.outbox.whenIdle();
  expect(rig.emulator.sentTo(person.chatId).map((m) => m.text)).toEqual([SORRY, "Favourite colour?", "colour: blue", "here is your plan"]);
});

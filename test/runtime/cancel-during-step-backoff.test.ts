/**
 * A /cancel during a step's backoff ends the run at once: no next attempt ever comes. The journal
 * must not go on saying the step is `retrying` ("a step between attempts ... the next at
 * deadline_at", run-detail.ts), as a cancelled run's question or sleep is marked `cancelled`.
 */
import { expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { serviceRig, waitFor } from "../helpers.ts";
import { newUser, Person, readDb } from "./support.ts";

const ADMIN_TOKEN = "admin-token-for-tests_0123456789";
const rig = serviceRig();

test("a step cancelled between attempts is not shown as retrying with a next attempt once its run is cancelled", async () => {
  let calls = 0;
  const agent: Agent = async (ctx) => {
    await ctx.step("charge", () => {
      calls++;
      throw new Error("payment service down");
    }, { retries: 3, backoffSeconds: 60 });
    await ctx.reply("charged");
  };
  const service = await rig.start({ ADMIN_TOKEN, SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }, { agent });
  const person = new Person(rig.emulator, newUser("Payer"));
  rig.emulator.sendText(person.user, "buy");
  await waitFor(() => readDb<{ state: string }>(service.config.databasePath, "SELECT state FROM run_steps WHERE kind = 'step'")[0]?.state === "retrying", "the step between attempts");

  expect(await person.say("/cancel")).toBe("Cancelled.");
  const [run] = readDb<{ id: number; status: string }>(service.config.databasePath, "SELECT id, status FROM runs");
  expect(run!.status).toBe("cancelled");

  const detail = (await (await fetch(`${service.url}/admin/runs/${run!.id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { journal: { kind: string; state: string; deadline_at: string | null }[] };
  const step = detail.journal.find((entry) => entry.kind === "step")!;
  expect(calls).toBe(1);
  expect(step.state).not.toBe("retrying");
});

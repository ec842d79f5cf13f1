/**
 * SPEC "Agent runtime" / admin: `POST /admin/runs/{id}/cancel` "cancels a run and its pending
 * question"; README run statuses: a run ends once, `done`, `failed` or `cancelled`. The /cancel
 * text is guarded against racing the run's own end (test/runtime/route-batch.test.ts: "either done
 * or cancelled, never both"); the admin cancel (Runtime.cancel, src/runtime/runs.ts) is not: it
 * reads the run, then ends it in its own transaction, and only after that aborts the execution.
 * An agent that throws in those few microtasks has its failure written too (failedWrites has no
 * status guard): the run ends twice and the user gets both "Cancelled." and "Sorry...".
 *
 * The test sweeps how many microtasks pass between letting the agent throw and the admin cancel,
 * so it does not depend on timing: each k is a fixed interleaving.
 */
import { expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { serviceRig, waitFor } from "../helpers.ts";
import { gate, newUser } from "../runtime/support.ts";

const rig = serviceRig();
const SORRY = "Sorry, something went wrong on my side. Please try again.";

test("an admin cancel racing the agent's throw ends the run once and tells the user once", async () => {
  const gates = new Map<number, { g: ReturnType<typeof gate>; k: number }>();
  const agent: Agent = async (ctx) => {
    const entry = gates.get(ctx.chatId)!;
    await entry.g.opened;
    for (let i = 0; i < entry.k; i++) await null;
    throw new Error("the agent gave up");
  };
  const service = await rig.start({ SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }, { agent });
  const outcomes: { k: number; status: string; texts: string[] }[] = [];
  for (let k = 0; k < 24; k++) {
    const user = newUser(`Race${k}`);
    gates.set(user.id, { g: gate(), k: 0 });
    rig.emulator.sendText(user, "go");
    const run = await waitFor(() => service.runtime.list({ limit: 50 }).find((r) => r.chatId === user.id && r.status === "running"), `run ${k} to start`);
    await waitFor(() => service.runtime.executing > 0, "the execution");
    // The agent is let go first; the admin cancel comes k microtasks later.
    gates.get(user.id)!.g.open();
    for (let i = 0; i < k; i++) await null;
    await service.runtime.cancel(run.id);
    await waitFor(() => service.runtime.executing === 0, "the execution to end");
    await service.outbox.whenIdle();
    await Bun.sleep(50);
    await service.outbox.whenIdle();
    const status = service.runtime.list({ limit: 50 }).find((r) => r.id === run.id)!.status;
    outcomes.push({ k, status, texts: rig.emulator.sentTo(user.id).map((m) => m.text) });
  }
  const doubled = outcomes.filter((o) => o.texts.length !== 1);
  // Each run ends once: either cancelled ("Cancelled.") or failed (SORRY), one message either way.
  expect(doubled).toEqual([]);
  for (const o of outcomes) expect(o.texts[0] === "Cancelled." ? "cancelled" : o.texts[0] === SORRY ? "failed" : o.texts[0]).toBe(o.status);
}, 60_000);

/**
 * SPEC "Steps, memory, sleep, choices": "A throwing `fn` is retried (`retries` default 3, backoff from
 * `backoffSeconds` default 1, doubling, capped at 60 s)". README: the run "is woken for the next
 * attempt" at the time `GET /admin/runs/{id}` shows as the step's `deadline_at`.
 *
 * Two steps started together: "a" fails (backoff 1 s) while "b" is still working. At 1 s the
 * scheduler wakes the run (runs.ts wakeDue -> run-store.ts wakeRun: status `running`; the executor
 * only notes `again`, the execution still waits on "b"), and re-arms without "a" (nextDeadline only
 * counts retrying steps of `waiting` runs). Then "b" fails with a 60 s backoff: stepRetrying sets the
 * run `waiting` again, the execution ends, and its `again` pass returns because the run is no longer
 * `running` (executor.ts executeWhileWoken). "a" is overdue, yet nothing wakes the run until b's 60 s.
 */
import { expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { serviceRig, connectWebhook, serviceEnv, startInProcess, waitFor } from "../helpers.ts";
import { gate, newUser, Person, readDb } from "./support.ts";

const { emulator, apiUrl, dir, services } = serviceRig();

test("a step whose 1 s backoff ended makes its next attempt soon, though a step beside it then failed with a 60 s backoff", async () => {
  const slowB = gate();
  let attemptsA = 0;
  let attemptsB = 0;
  const agent: Agent = async (ctx) => {
    await ctx.reply("working");
    const [a, b] = await Promise.all([
      ctx.step(
        "a",
        () => {
          attemptsA++;
          if (attemptsA === 1) throw new Error("a down");
          return "a-ok";
        },
        { retries: 3, backoffSeconds: 1 },
      ),
      ctx.step(
        "b",
        async () => {
          attemptsB++;
          if (attemptsB === 1) {
            await slowB.opened;
            throw new Error("b down");
          }
          return "b-ok";
        },
        { retries: 3, backoffSeconds: 60 },
      ),
    ]);
    await ctx.reply(`${a} ${b}`);
  };
  const env = serviceEnv(emulator, apiUrl, `${dir.path}/overdue.db`, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });
  const service = await startInProcess(env, { agent });
  services.push(service);
  await connectWebhook(emulator, service.url);
  const db = service.config.databasePath;

  expect(await new Person(emulator, newUser("Shop")).say("go")).toBe("working");
  await waitFor(() => readDb(db, "SELECT 1 FROM run_steps WHERE text = 'a' AND state = 'retrying'").length === 1, "a's failed attempt to be journaled");
  // a's backoff ends while b still works: the scheduler wakes the run.
  await waitFor(() => readDb<{ status: string }>(db, "SELECT status FROM runs")[0]?.status === "running", "the run to be woken for a's next attempt", 5_000);
  slowB.open();
  await waitFor(() => readDb(db, "SELECT 1 FROM run_steps WHERE text = 'b' AND state = 'retrying'").length === 1, "b's failed attempt to be journaled");

  // a was due a while ago: its second attempt comes within seconds, not after b's 60 s.
  await waitFor(() => attemptsA === 2, "a's second attempt", 8_000).catch((error: Error) => {
    throw new Error(`${error.message}; journal ${JSON.stringify(readDb(db, "SELECT text, state, attempts, deadline_at - strftime('%s','now')*1000 AS due_in_ms FROM run_steps WHERE kind = 'step'"))}`);
  });
}, 30_000);

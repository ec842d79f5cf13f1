import { expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { serviceRig, connectWebhook, serviceEnv, startInProcess, waitFor } from "../helpers.ts";
import { newUser } from "./support.ts";

const { emulator, apiUrl, dir, services } = serviceRig();

test("a waiting run keeps nothing in memory: its suspended agent function and ctx are garbage-collected", async () => {
  const collected = new Set<number>();
  const registry = new FinalizationRegistry<number>((runId) => collected.add(runId));
  const agent: Agent = async (ctx) => {
    // Something big per execution, so a leak would show in the heap too.
    const scratch = new Array(10_000).fill(ctx.runId);
    registry.register(ctx, ctx.runId);
    await ctx.ask(`question ${scratch.length}`);
    await ctx.reply("answered");
  };
  const service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/evict.db`, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }), { agent });
  services.push(service);
  await connectWebhook(emulator, service.url);
  const people = Array.from({ length: 40 }, (_, i) => newUser(`Evicted${i}`));
  for (const person of people) emulator.sendText(person, "hi");
  await waitFor(() => service.runtime.counts().waiting === people.length && service.runtime.executing === 0, "every run to wait with no execution");
  await waitFor(
    async () => {
      Bun.gc(true);
      await Bun.sleep(10);
      return collected.size >= people.length * 0.9;
    },
    "the suspended executions to be collected",
    10_000,
  );
  expect(collected.size).toBeGreaterThanOrEqual(36);
});

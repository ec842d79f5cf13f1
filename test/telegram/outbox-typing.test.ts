/** The typing indicator beside the outbox: shown for a run working over 1 s, refreshed every ~4 s, never retried and never stored. */
import { describe, expect, test } from "bun:test";
import { postUpdate, textUpdate, waitFor } from "../helpers.ts";
import { outboxTests } from "./outbox-support.ts";

const { setup } = outboxTests();

describe("typing indicator", () => {
  test("a run working over 1 s shows typing, refreshed every ~4 s, never retried and never stored", async () => {
    const { emulator, service } = await setup(
      {},
      {
        agent: async (ctx) => {
          if (ctx.text === "slow") await Bun.sleep(5_300);
          await ctx.reply(`done ${ctx.text}`);
        },
      },
    );
    // Every typing call fails: a retry would show up as an extra call.
    emulator.faults = { ...emulator.faults, down: true, methods: ["sendChatAction"] };
    const slow = { id: 960, first_name: "Slow" };
    const fast = { id: 961, first_name: "Fast" };
    const postedAt = Date.now();
    expect((await postUpdate(service.url, textUpdate(slow, "slow"))).status).toBe(200);
    expect((await postUpdate(service.url, textUpdate(fast, "fast"))).status).toBe(200);
    await waitFor(() => emulator.sentTo(slow.id).length === 1, "the slow reply", 10_000);
    await waitFor(() => emulator.sentTo(fast.id).length === 1, "the fast reply");

    const typing = emulator.callsOf("sendChatAction");
    expect(typing.map((c) => [Number(c.params.chat_id), c.params.action, c.status])).toEqual([
      [slow.id, "typing", 502],
      [slow.id, "typing", 502],
    ]);
    expect(typing[0]!.at - postedAt).toBeGreaterThanOrEqual(1000);
    expect(typing[1]!.at - typing[0]!.at).toBeGreaterThanOrEqual(3_900);
    expect(typing[1]!.at - typing[0]!.at).toBeLessThan(5_500); // ~4 s, with slack for busy timers
    // Nothing but the replies went through the outbox.
    expect(service.outbox.list({ limit: 100 }).map((r) => r.text).sort()).toEqual(["done fast", "done slow"]);
    expect(emulator.sentTo(slow.id)[0]!.text).toBe("done slow");
  }, 20_000);
});

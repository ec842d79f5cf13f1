/**
 * docs/operations.md, "Logs": "a line about an update, a run or a message carries its ids:
 * `update_id`, `chat_id`, `run_id`, `outbox_id`" (README "Operations": "the ids of what it is about").
 *
 * The line the outbox logs when a group became a supergroup (src/telegram/outbox-outcomes.ts,
 * "outbox: the group became a supergroup; sending its messages there") carries outbox_id and chat_id
 * but drops the message's run_id and update_id, which every other outbox line carries.
 */
import { afterAll, expect, test } from "bun:test";
import type { EmulatedChat } from "../../src/sandbox/emulator.ts";
import { connectWebhook, serviceEnv, startEmulator, startInProcess, tempDir, waitFor } from "../helpers.ts";
import { capturingLogger, newUser } from "../runtime/support.ts";

const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
afterAll(() => {
  emulator.stop();
  dir.cleanup();
});

test("the supergroup-migration log line carries the message's run_id and update_id", async () => {
  const log = capturingLogger();
  const service = await startInProcess(
    serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_PER_GROUP: "1000", SEND_RATE_GLOBAL: "10000" }),
    // A reply from a run (echo's instant reply has no run_id to carry).
    { logger: log, agent: async (ctx) => void (await ctx.reply(`echo ${ctx.text}`)) },
  );
  try {
    await connectWebhook(emulator, service.url);
    const oldGroup: EmulatedChat = { id: -4_888_001, type: "group", title: "Old group" };
    const supergroup = -1_004_888_001;
    emulator.faults.migratedChats.set(oldGroup.id, supergroup);
    emulator.sendText(newUser("Ann"), "hello", oldGroup);
    await waitFor(() => emulator.sentTo(supergroup).length === 1, "the echo in the supergroup", 15_000);

    const line = log.lines.find((l) => String(l.msg).startsWith("outbox: the group became a supergroup"));
    expect(line).toBeDefined();
    const row = service.outbox.list({ limit: 10 }).find((r) => r.chatId === supergroup)!;
    expect(line).toMatchObject({ outbox_id: row.id, chat_id: oldGroup.id });
    expect(typeof line!.run_id).toBe("number");
    expect(typeof line!.update_id).toBe("number");
  } finally {
    await service.stop();
  }
}, 30_000);

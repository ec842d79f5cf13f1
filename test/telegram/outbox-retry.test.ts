/**
 * Outbox.retry (what POST /admin/outbox/{id}/retry calls) against the Bot API emulator: a failed
 * message goes back behind what its chat has queued, with the per-chat spacing, only from
 * `failed`, and durably (a restart before it is sent still sends it, once).
 */
import { afterEach, expect, test } from "bun:test";
import type { BotApiEmulator, RecordedCall } from "../../src/sandbox/emulator.ts";
import { serviceEnv, startEmulator, startInProcess, tempDir, waitFor, type Service } from "../helpers.ts";

const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function sendsTo(emulator: BotApiEmulator, chatId: number): RecordedCall[] {
  return emulator.callsOf("sendMessage").filter((call) => Number(call.params.chat_id) === chatId);
}

function rowOf(service: Service, id: number) {
  return service.outbox.list({ limit: 10_000 }).find((row) => row.id === id);
}

/** A message to `chatId` that Telegram refuses (the bot is blocked); the chat is unblocked once it failed. */
async function failedMessage(emulator: BotApiEmulator, service: Service, chatId: number, text: string): Promise<number> {
  emulator.faults.blockedChats.add(chatId);
  const [id] = service.outbox.enqueue({ chatId, text });
  await waitFor(() => rowOf(service, id!)?.status === "failed", `message ${id} to fail`);
  emulator.faults.blockedChats.delete(chatId);
  return id!;
}

test("a retried message is sent after what its chat has queued, spaced like any message, and once", async () => {
  const { emulator, apiUrl } = startEmulator();
  const dir = tempDir();
  cleanups.push(() => dir.cleanup(), () => emulator.stop());
  const service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { SEND_RATE_PER_CHAT: "5", SEND_RATE_GLOBAL: "1000" }));
  cleanups.push(() => service.stop());
  const chat = 951;
  const refused = await failedMessage(emulator, service, chat, "refused at first");

  for (const text of ["one", "two", "three"]) service.outbox.enqueue({ chatId: chat, text });
  const result = await service.outbox.retry(refused);
  expect(result).toMatchObject({ outcome: "queued", row: { id: refused, status: "queued", attempts: 0, lastError: "Forbidden: bot was blocked by the user" } });
  // Queued again, it cannot be retried a second time.
  expect(await service.outbox.retry(refused)).toEqual({ outcome: "not_failed", status: "queued" });

  await waitFor(() => service.outbox.counts().sent === 4, "four messages sent", 10_000);
  expect(emulator.sentTo(chat).map((m) => m.text)).toEqual(["one", "two", "three", "refused at first"]);
  const accepted = sendsTo(emulator, chat).filter((c) => c.status === 200);
  for (let i = 1; i < accepted.length; i++) expect(accepted[i]!.at - accepted[i - 1]!.at).toBeGreaterThanOrEqual(200); // 1/SEND_RATE_PER_CHAT
  expect(sendsTo(emulator, chat).filter((c) => c.params.text === "refused at first").map((c) => c.status)).toEqual([403, 200]);
  expect(rowOf(service, refused)).toMatchObject({ status: "sent", attempts: 1, lastError: null, messageId: emulator.sentTo(chat).at(-1)!.message_id });
  expect(await service.outbox.retry(refused)).toEqual({ outcome: "not_failed", status: "sent" });
  expect(await service.outbox.retry(987_654)).toEqual({ outcome: "not_found" });
});

test("a retry is durable: queued again before a restart, it is sent once after it", async () => {
  const { emulator, apiUrl } = startEmulator();
  const dir = tempDir();
  cleanups.push(() => dir.cleanup(), () => emulator.stop());
  const env = serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });
  const chat = 952;
  const first = await startInProcess(env);
  let id: number;
  try {
    id = await failedMessage(emulator, first, chat, "sent after the restart");
    // Telegram is down now: the retried message stays queued, retrying with backoff.
    emulator.faults = { ...emulator.faults, down: true, methods: ["sendMessage"] };
    expect((await first.outbox.retry(id)).outcome).toBe("queued");
    await waitFor(() => sendsTo(emulator, chat).some((c) => c.status === 502), "an attempt while Telegram is down");
  } finally {
    await first.stop();
  }
  emulator.faults.down = false;

  const second = await startInProcess(env);
  cleanups.push(() => second.stop());
  await waitFor(() => rowOf(second, id)?.status === "sent", "the retried message to be sent after the restart");
  expect(emulator.sentTo(chat).map((m) => m.text)).toEqual(["sent after the restart"]);
  expect(sendsTo(emulator, chat).filter((c) => c.status === 200)).toHaveLength(1);
  expect(rowOf(second, id)).toMatchObject({ status: "sent", lastError: null });
});

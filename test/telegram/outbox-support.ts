/** What the outbox tests against the Bot API emulator share: a fresh emulator and service per test, and reads of what was sent. */
import { afterEach } from "bun:test";
import type { ServiceOptions } from "../../src/app.ts";
import type { BotApiEmulator, RecordedCall } from "../../src/sandbox/emulator.ts";
import { serviceEnv, startEmulator, startInProcess, tempDir, waitFor, type Service } from "../helpers.ts";

export const LIFTED = { SEND_RATE_PER_CHAT: "1000", SEND_RATE_PER_GROUP: "1000", SEND_RATE_GLOBAL: "1000" };

/** For one test file: `cleanups` run (last first) after each test, and `setup` pushes its own there. */
export function outboxTests() {
  const cleanups: (() => unknown)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A fresh emulator and service (rates lifted unless `env` says otherwise); stopped after the test. */
  async function setup(env: Record<string, string> = {}, options: ServiceOptions = {}, dir = tempDir()) {
    const { emulator, apiUrl } = startEmulator();
    const databasePath = `${dir.path}/timbre.db`;
    cleanups.push(() => dir.cleanup(), () => emulator.stop());
    const service = await startInProcess(serviceEnv(emulator, apiUrl, databasePath, { ...LIFTED, ...env }), options);
    cleanups.push(() => service.stop());
    return { emulator, apiUrl, service, dir, databasePath };
  }

  return { cleanups, setup };
}

export function sendsTo(emulator: BotApiEmulator, chatId: number): RecordedCall[] {
  return emulator.callsOf("sendMessage").filter((call) => Number(call.params.chat_id) === chatId);
}

export function rowsOf(service: Service, chatId: number) {
  return service.outbox
    .list({ limit: 10_000 })
    .filter((row) => row.chatId === chatId)
    .reverse();
}

export async function allSent(service: Service, count: number, timeoutMs = 15_000) {
  await waitFor(() => service.outbox.counts().sent === count, `${count} messages sent (now ${JSON.stringify(service.outbox.counts())})`, timeoutMs);
}

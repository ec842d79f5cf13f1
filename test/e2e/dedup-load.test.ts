import { afterAll, beforeAll, expect, test } from "bun:test";
import { postUpdate, serviceEnv, startEmulator, startInProcess, tempDir, textUpdate, waitFor, type Service } from "../helpers.ts";

const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
let service: Service;

beforeAll(async () => {
  service = await startInProcess(
    serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { AGENT: "echo", SEND_RATE_PER_CHAT: "10000", SEND_RATE_GLOBAL: "10000", SEND_CONCURRENCY: "32" }),
  );
});
afterAll(async () => {
  await service.stop();
  emulator.stop();
  dir.cleanup();
});

test("1000 posts from 40 concurrent clients with 25% duplicates: each update echoed exactly once, in order per chat", async () => {
  const CLIENTS = 40;
  const CHATS = 80;
  const UNIQUE = 750;
  // Like Telegram, one chat's updates are delivered one after another; each client owns two chats.
  const perClient: Record<string, unknown>[][] = Array.from({ length: CLIENTS }, () => []);
  for (let i = 0; i < UNIQUE; i++) {
    const chat = 10_000 + (i % CHATS);
    const update = textUpdate({ id: chat, first_name: `U${chat}` }, `chat ${chat} message ${Math.floor(i / CHATS)}`, 50_000 + i);
    perClient[i % CLIENTS]!.push(update);
    if (i % 3 === 0) perClient[i % CLIENTS]!.push(update); // a retry by Telegram: 250 duplicates
  }
  const posted = perClient.reduce((n, list) => n + list.length, 0);
  expect(posted).toBe(1000);

  const statuses = await Promise.all(
    perClient.map(async (updates) => {
      const codes: number[] = [];
      for (const update of updates) codes.push((await postUpdate(service.url, update)).status);
      return codes;
    }),
  );
  expect(statuses.flat().every((code) => code === 200)).toBe(true);

  await waitFor(() => emulator.messages.length >= UNIQUE, `${UNIQUE} echoes`, 30_000);
  await service.dispatcher.whenIdle();
  await service.outbox.whenIdle();
  expect(emulator.messages.length).toBe(UNIQUE);
  for (let c = 0; c < CHATS; c++) {
    const chat = 10_000 + c;
    const texts = emulator.sentTo(chat).map((m) => m.text);
    const expected = Array.from({ length: texts.length }, (_, k) => `chat ${chat} message ${k}`);
    expect(texts).toEqual(expected);
  }
  expect(service.inbox.counts()).toMatchObject({ done: UNIQUE, failed: 0, received: 0, processing: 0 });
  expect(service.metrics.updatesDuplicate.get()).toBe(250);
  // Fewer commits than requests: concurrent requests shared transactions.
  expect(service.inbox.commits).toBeLessThan(1000);
});

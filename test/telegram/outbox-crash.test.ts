/**
 * kill -9 with a queued outbox backlog: after a restart every reply is delivered, and none
 * twice except (as SPEC allows) the sends that were in flight at the kill.
 */
import { expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { crashRig, postUpdate, serviceEnv, textUpdate, waitFor } from "../helpers.ts";

const { emulator, apiUrl, dir, spawn } = crashRig();
// Updates are posted to the webhook directly; the emulator only plays Telegram's Bot API.
const start = (env: Record<string, string>) => spawn(env, undefined, { webhook: false });

const CHATS = 20;
const PER_CHAT = 10;
const SEND_CONCURRENCY = 4;

function outboxRows(databasePath: string): { text: string; status: string }[] {
  const sqlite = new Database(databasePath);
  try {
    return sqlite.query("SELECT text, status FROM outbox ORDER BY id").all() as { text: string; status: string }[];
  } finally {
    sqlite.close();
  }
}

test("kill -9 with a backlog: after restart every reply is delivered; only sends in flight at the kill may repeat", async () => {
  const databasePath = `${dir.path}/timbre.db`;
  const base = serviceEnv(emulator, apiUrl, databasePath, { AGENT: "echo", SEND_CONCURRENCY: String(SEND_CONCURRENCY), SEND_RATE_PER_CHAT: "1000" });
  // Slow answers keep sends in flight; a low global rate builds the backlog.
  emulator.faults.delayMs = 150;
  const first = await start({ ...base, SEND_RATE_GLOBAL: "40" });

  const expected = new Map<number, string[]>();
  let updateId = 1;
  await Promise.all(
    Array.from({ length: CHATS }, async (_, c) => {
      const user = { id: 3_000 + c, first_name: `u${c}` };
      const texts = Array.from({ length: PER_CHAT }, (_, n) => `crash ${user.id} #${n}`);
      expected.set(user.id, texts);
      for (const text of texts) {
        const response = await postUpdate(first.url, textUpdate(user, text, updateId++));
        expect(response.status).toBe(200);
      }
    }),
  );
  const total = CHATS * PER_CHAT;
  await waitFor(() => emulator.messages.length >= 30, "some replies delivered before the kill", 20_000);
  await first.kill9();

  const atKill = outboxRows(databasePath);
  const sentBefore = new Set(atKill.filter((r) => r.status === "sent").map((r) => r.text));
  const inFlightAtKill = new Set(atKill.filter((r) => r.status === "sending").map((r) => r.text));
  expect(inFlightAtKill.size).toBeLessThanOrEqual(SEND_CONCURRENCY);
  expect(sentBefore.size).toBeLessThan(total / 2); // a real backlog was left

  emulator.faults.delayMs = 0;
  const second = await start({ ...base, SEND_RATE_GLOBAL: "1000" });
  await waitFor(
    () => {
      const rows = outboxRows(databasePath);
      return rows.length === total && rows.every((r) => r.status === "sent");
    },
    "every reply recorded sent after the restart",
    20_000,
    50,
  );
  expect(await second.terminate()).toBe(0);

  const times = new Map<string, number>();
  for (const message of emulator.messages) times.set(message.text, (times.get(message.text) ?? 0) + 1);
  const repeated = [...times].filter(([, n]) => n > 1);
  // Every reply arrived; one recorded as sent before the kill never again.
  for (const texts of expected.values()) for (const text of texts) expect(times.get(text) ?? 0).toBeGreaterThanOrEqual(1);
  for (const text of sentBefore) expect(times.get(text)).toBe(1);
  // A repeat is only possible for a send in flight at the kill, once each.
  for (const [text, n] of repeated) {
    expect(inFlightAtKill.has(text)).toBe(true);
    expect(n).toBe(2);
  }
  expect(emulator.messages.length).toBeLessThanOrEqual(total + inFlightAtKill.size);
  // Order per chat holds (a repeat sits right after its first copy).
  for (const [chat, texts] of expected) {
    const seen = emulator.sentTo(chat).map((m) => m.text).filter((text, i, all) => text !== all[i - 1]);
    expect(seen).toEqual(texts);
  }
}, 60_000);

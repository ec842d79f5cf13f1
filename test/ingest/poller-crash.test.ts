import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { POLL_OFFSET_KEY } from "../../src/ingest/poller.ts";
import { serviceEnv, spawnService, startEmulator, tempDir, waitFor } from "../helpers.ts";

const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
const dbPath = `${dir.path}/timbre.db`;

afterAll(() => {
  emulator.stop();
  dir.cleanup();
});

/** What a killed process left on disk: the stored offset and the highest stored update_id. */
function onDisk(): { offset: number | undefined; maxStored: number | undefined; stored: number } {
  const db = new Database(dbPath);
  try {
    const offset = db.query<{ value: string }, [string]>("SELECT value FROM settings WHERE key = ?").get(POLL_OFFSET_KEY)?.value;
    const row = db.query<{ max: number | null; n: number }, []>("SELECT max(update_id) AS max, count(*) AS n FROM updates").get()!;
    return { offset: offset === undefined ? undefined : Number(offset), maxStored: row.max ?? undefined, stored: row.n };
  } finally {
    db.close();
  }
}

test("kill -9 while batches arrive: the offset on disk is always the last stored update + 1, and after a restart nothing is lost or taken twice", async () => {
  const env = serviceEnv(emulator, apiUrl, dbPath, { BOT_MODE: "polling", AGENT: "echo", SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });
  const users = Array.from({ length: 8 }, (_, i) => ({ id: 2000 + i, first_name: `K${i}` }));
  const texts: string[] = [];
  let n = 0;
  const push = (count: number) => {
    for (let i = 0; i < count; i++) {
      const user = users[n % users.length]!;
      const text = `m${n++}`;
      texts.push(text);
      emulator.sendText(user, text);
    }
  };
  // Several full batches (getUpdates hands over at most 100) wait before the first start...
  push(350);
  const first = await spawnService(env);
  // ...and more keep arriving while it runs, so the kill lands among batches being taken.
  const feeder = setInterval(() => push(10), 2);
  await waitFor(() => emulator.callsOf("getUpdates").filter((c) => c.status === 200).length >= 3, "a few batches to be handed over", 20_000, 1);
  await first.kill9();
  clearInterval(feeder);

  const left = onDisk();
  expect(left.stored).toBeGreaterThan(0);
  expect(left.offset).toBe(left.maxStored! + 1);

  push(20);
  const pollsBefore = emulator.callsOf("getUpdates").length;
  const second = await spawnService(env);
  try {
    await waitFor(() => emulator.pendingUpdates() === 0, "every update to be taken", 30_000);
    // The restarted process asked from the stored offset, never from before it.
    const asked = emulator.callsOf("getUpdates").slice(pollsBefore).map((c) => Number(c.params.offset));
    expect(asked.length).toBeGreaterThan(0);
    expect(Math.min(...asked)).toBeGreaterThanOrEqual(left.offset!);

    const metrics = async () => (await fetch(`${second.url}/metrics`)).text();
    await waitFor(() => onDisk().stored === texts.length, "every update stored", 30_000);
    // No update was handed over twice: a re-delivery would count as a duplicate.
    expect(await metrics()).toContain("timbre_updates_duplicate_total 0");

    const sent = () => emulator.messages.map((m) => m.text);
    await waitFor(() => new Set(sent()).size === texts.length, "every text to be echoed", 30_000);
    const counts = new Map<string, number>();
    for (const text of sent()) counts.set(text, (counts.get(text) ?? 0) + 1);
    // Only a send in flight at the kill may go out twice (at most SEND_CONCURRENCY = 8).
    const twice = [...counts.values()].filter((c) => c > 1).length;
    expect(twice).toBeLessThanOrEqual(8);
    for (const user of users) {
      const mine = emulator.sentTo(user.id).map((m) => Number(m.text.slice(1)));
      const firstSeen = mine.filter((v, i) => mine.indexOf(v) === i);
      expect(firstSeen).toEqual([...firstSeen].sort((a, b) => a - b));
    }
  } finally {
    // SIGTERM ends the open long poll at once (not after its 25 s) and exits 0.
    const stopStarted = Date.now();
    expect(await second.terminate()).toBe(0);
    expect(Date.now() - stopStarted).toBeLessThan(5_000);
  }
  const after = onDisk();
  expect(after.offset).toBe(after.maxStored! + 1);
  expect(after.stored).toBe(texts.length);
}, 90_000);

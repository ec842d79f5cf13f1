import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { seededRandom } from "../../src/sandbox/emulator.ts";
import { postUpdate, serviceEnv, spawnService, startEmulator, tempDir, textUpdate, waitFor, type SpawnedService } from "../helpers.ts";

const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
afterAll(() => {
  emulator.stop();
  dir.cleanup();
});

const KILLS = 3;
const CLIENTS = 16;
const SEND_CONCURRENCY = 8;
// The kill moments are random but repeatable: change the seed to explore others.
const SEED = 0x5eed_0009;

test(`kill -9 at random moments under webhook load, ${KILLS} times on one database: every acknowledged update processed once, extra sends within SEND_CONCURRENCY per kill`, async () => {
  const random = seededRandom(SEED);
  const env = serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, {
    AGENT: "echo",
    SEND_RATE_PER_CHAT: "100000",
    SEND_RATE_GLOBAL: "100000",
    SEND_CONCURRENCY: String(SEND_CONCURRENCY),
  });
  const acknowledged = new Set<number>();
  /** Posted but not answered 200: Telegram would deliver these again. */
  const unanswered = new Set<number>();
  const chatOf = new Map<number, number>();
  let nextId = 1;
  const post = async (url: string, id: number): Promise<boolean> => {
    const chat = chatOf.get(id)!;
    try {
      const response = await postUpdate(url, textUpdate({ id: chat, first_name: "K" }, `m${id}`, id));
      if (response.status === 200) {
        acknowledged.add(id);
        unanswered.delete(id);
        return true;
      }
    } catch {
      // connection refused or reset: the process is gone
    }
    return false;
  };

  /** Telegram's redelivery after a restart: what was never acknowledged, plus a few duplicates. */
  const redeliver = async (service: SpawnedService) => {
    const again = [...unanswered, ...[...acknowledged].slice(-20)];
    for (const id of again) expect(await post(service.url, id)).toBe(true);
  };

  const killMoments: number[] = [];
  for (let round = 0; round < KILLS; round++) {
    const service = await spawnService(env);
    await redeliver(service);
    let dead = false;
    const clients = Array.from({ length: CLIENTS }, async (_, client) => {
      while (!dead) {
        const id = nextId++;
        chatOf.set(id, 7_000 + client);
        unanswered.add(id);
        if (!(await post(service.url, id))) return;
      }
    });
    // Let the load (and with it runs and sends) build up, then kill at a random moment.
    const ackedAtStart = acknowledged.size;
    await waitFor(() => acknowledged.size >= ackedAtStart + 100, "load to build up", 15_000);
    const delay = Math.round(50 + random() * 700);
    killMoments.push(delay);
    await Bun.sleep(delay);
    await service.kill9();
    dead = true;
    await Promise.all(clients);
  }

  const final = await spawnService(env);
  try {
    await redeliver(final);
    expect(unanswered.size).toBe(0);
    // A set of what was echoed: checking each id against every message would starve the emulator of CPU.
    await waitFor(
      () => {
        const echoed = new Set(emulator.messages.map((m) => m.text));
        return [...acknowledged].every((id) => echoed.has(`m${id}`));
      },
      `every acknowledged update echoed (kill moments ${killMoments.join(", ")} ms after the load built up)`,
      20_000,
    );
  } finally {
    expect(await final.terminate()).toBe(0);
  }

  const db = new Database(`${dir.path}/timbre.db`, { readonly: true });
  try {
    const notDone = db.query("SELECT update_id, status FROM updates WHERE status != 'done'").all();
    expect(notDone).toEqual([]);
    const stored = (db.query("SELECT count(*) AS n FROM updates").get() as { n: number }).n;
    expect(stored).toBe(acknowledged.size);
    // Processed once: one run and one outbox row per update, whatever the kills interrupted.
    expect(db.query("SELECT trigger_update_id FROM runs GROUP BY trigger_update_id HAVING count(*) > 1").all()).toEqual([]);
    expect(db.query("SELECT update_id FROM outbox GROUP BY update_id HAVING count(*) > 1").all()).toEqual([]);
    expect((db.query("SELECT count(*) AS n FROM outbox WHERE status = 'sent'").get() as { n: number }).n).toBe(acknowledged.size);
  } finally {
    db.close();
  }

  // Only a kill between Telegram's answer and its record sends again: at most SEND_CONCURRENCY per kill.
  const counts = new Map<string, number>();
  for (const m of emulator.messages) counts.set(m.text, (counts.get(m.text) ?? 0) + 1);
  const extra = [...counts.values()].reduce((sum, n) => sum + (n - 1), 0);
  expect(extra).toBeLessThanOrEqual(SEND_CONCURRENCY * KILLS);
  expect(Math.max(...counts.values())).toBeLessThanOrEqual(1 + KILLS);
  expect(counts.size).toBe(acknowledged.size);
}, 60_000);

import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { postUntilStopped, serviceEnv, spawnService, startEmulator, tempDir, waitFor } from "../helpers.ts";

const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
afterAll(() => {
  emulator.stop();
  dir.cleanup();
});

test("kill -9 under load: every acknowledged update is processed after a restart, none twice", async () => {
  const env = serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { AGENT: "echo", SEND_RATE_PER_CHAT: "10000", SEND_RATE_GLOBAL: "10000" });
  const first = await spawnService(env);
  // 20 clients post their own chat's updates in order until the process dies under them.
  const load = postUntilStopped(first.url, { clients: 20, chatBase: 900, firstId: 1, text: (id) => `m${id}` });
  const { acknowledged } = load;
  await waitFor(() => acknowledged.size >= 300, "300 acknowledged updates", 20_000);
  await first.kill9();
  await load.stop();
  const ackedAtKill = new Set(acknowledged);

  const second = await spawnService(env);
  try {
    await waitFor(
      () => [...ackedAtKill].every((id) => emulator.messages.some((m) => m.text === `m${id}`)),
      "every acknowledged update to be echoed",
      30_000,
    );
    // Let anything in flight settle, then stop cleanly so the database can be read.
    await Bun.sleep(200);
  } finally {
    expect(await second.terminate()).toBe(0);
  }

  const db = new Database(`${dir.path}/timbre.db`, { readonly: true });
  const statuses = db.query("SELECT status, count(*) AS n FROM updates GROUP BY status").all() as { status: string; n: number }[];
  expect(statuses.filter((s) => s.status !== "done")).toEqual([]);
  // Processed once: one run and one outbox row per update.
  expect(db.query("SELECT trigger_update_id FROM runs GROUP BY trigger_update_id HAVING count(*) > 1").all()).toEqual([]);
  expect(db.query("SELECT update_id FROM outbox GROUP BY update_id HAVING count(*) > 1").all()).toEqual([]);
  for (const id of ackedAtKill) expect(db.query("SELECT status FROM updates WHERE update_id = ?").get(id)).toEqual({ status: "done" });
  db.close();

  // A message is sent twice only if the kill fell between Telegram's answer and its record:
  // at most SEND_CONCURRENCY (8) sends were in flight.
  const counts = new Map<string, number>();
  for (const m of emulator.messages) counts.set(m.text, (counts.get(m.text) ?? 0) + 1);
  const doubled = [...counts.values()].filter((n) => n > 1);
  expect(doubled.every((n) => n === 2)).toBe(true);
  expect(doubled.length).toBeLessThanOrEqual(8);
}, 90_000);

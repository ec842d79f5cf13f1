import { afterAll, expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { postUpdate, serviceEnv, startEmulator, startInProcess, tempDir, textUpdate, waitFor } from "../helpers.ts";
import { capturingLogger } from "../runtime/support.ts";

/**
 * The same fault as disk-full.test.ts without needing root: SQLite's own size cap
 * (PRAGMA max_page_count) makes every write that grows the database fail with SQLITE_FULL,
 * in the middle of webhook load, runs and sends; lifting the cap is the space coming back.
 */
const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
afterAll(() => {
  emulator.stop();
  dir.cleanup();
});

test("the database refuses writes under load: webhook 503, nothing lost or stuck once writes work again, no restart", async () => {
  const log = capturingLogger();
  // An echo held at a gate, so runs are mid-way (their replies unwritten) when the cap hits.
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  const slowEcho: Agent = async (ctx) => {
    await gate;
    if (ctx.text !== undefined) await ctx.reply(ctx.text);
  };
  const env = serviceEnv(emulator, apiUrl, `${dir.path}/cap.db`, { SEND_RATE_PER_CHAT: "10000", SEND_RATE_GLOBAL: "10000" });
  const service = await startInProcess(env, { agent: slowEcho, logger: log });
  const sqlite = service.database.sqlite;
  const acknowledged = new Set<number>();
  const refused = new Set<number>();
  const wrongAnswers: string[] = [];
  let nextId = 1;
  const padding = "q".repeat(2_000);
  const send = async (id: number) => {
    const response = await postUpdate(service.url, textUpdate({ id: 5_000 + (id % 5), first_name: "C" }, `c${id} ${padding}`, id));
    const body = (await response.json()) as { ok: boolean; error?: string };
    if (response.status === 200) {
      acknowledged.add(id);
      refused.delete(id);
    } else if (response.status === 503 && body.error?.includes("could not store")) refused.add(id);
    else wrongAnswers.push(`${id}: ${response.status} ${JSON.stringify(body)}`);
    return response.status;
  };
  try {
    let consecutive503 = 0;
    const clients = Array.from({ length: 6 }, async () => {
      for (let i = 0; i < 3_000 && consecutive503 < 20; i++) consecutive503 = (await send(nextId++)) === 503 ? consecutive503 + 1 : 0;
    });
    await waitFor(() => acknowledged.size >= 100, "load before the cap");
    const { page_count } = sqlite.query("PRAGMA page_count").get() as { page_count: number };
    sqlite.exec(`PRAGMA max_page_count = ${page_count}`);
    await Promise.all(clients);
    openGate();
    // The held runs now write their replies into a full database: told to try again, not failed.
    await waitFor(() => log.lines.some((e) => e.msg.startsWith("runtime: the database failed under a run")), "a run to meet the full database");
    expect(refused.size).toBeGreaterThanOrEqual(20);
    expect(wrongAnswers).toEqual([]);
    expect(service.metrics.webhookRejected.get({ status: "503" })).toBeGreaterThanOrEqual(20);

    sqlite.exec("PRAGMA max_page_count = 1073741823");
    for (const id of [...refused]) expect(await send(id)).toBe(200);
    expect(wrongAnswers).toEqual([]);
    const ids = [...acknowledged];
    const unechoed = () => ids.filter((id) => !emulator.messages.some((m) => m.text.startsWith(`c${id} `)));
    await waitFor(() => unechoed().length === 0, "every acknowledged update to be echoed without a restart", 20_000).catch((error) => {
      throw new Error(`${error}; not echoed: ${unechoed().join(", ")}; counts ${JSON.stringify(service.inbox.counts())} ${JSON.stringify(service.runtime.counts())}`);
    });
    await waitFor(() => service.inbox.counts().received + service.inbox.counts().processing === 0, "every update handled");
    expect(service.inbox.counts()).toMatchObject({ failed: 0, done: acknowledged.size });
    expect(service.runtime.counts()).toMatchObject({ running: 0, waiting: 0, failed: 0, done: acknowledged.size });
  } finally {
    await service.stop();
  }
}, 60_000);

/**
 * Graceful shutdown (SPEC "Shutdown") on the real process: SIGTERM under load answers new
 * webhooks 503, lets the sends in flight finish and be recorded, closes the database and exits
 * 0 within 10 s; after a restart everything acknowledged is processed, and nothing twice.
 */
import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { postUpdate, ROOT, serviceEnv, spawnService, startEmulator, tempDir, textUpdate, waitFor } from "../helpers.ts";

const { emulator, apiUrl } = startEmulator(11);
const dir = tempDir();
afterAll(() => {
  emulator.stop();
  dir.cleanup();
});

const SEND_DELAY_MS = 1500;

test("SIGTERM under load: 503 while stopping, sends in flight finish, exit 0 within 10 s; after a restart every acknowledged update is processed once", async () => {
  const env = serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { AGENT: "echo", SEND_RATE_PER_CHAT: "10000", SEND_RATE_GLOBAL: "10000" });
  // Every Bot API call takes 1.5 s: sends are in flight when the signal comes.
  emulator.faults.delayMs = SEND_DELAY_MS;
  const first = await spawnService(env);
  const acknowledged = new Set<number>();
  const refused = new Set<number>();
  const unanswered = new Set<number>();
  let nextId = 1;
  // 20 clients (one chat each) post until the service stops acknowledging: a 503, or no answer.
  const clients = Array.from({ length: 20 }, async (_, client) => {
    for (;;) {
      const id = nextId++;
      let status: number;
      try {
        const response = await postUpdate(first.url, textUpdate({ id: 3000 + client, first_name: "S" }, `s${id}`, id));
        status = response.status;
      } catch {
        unanswered.add(id);
        return; // the server is gone
      }
      if (status === 200) acknowledged.add(id);
      else if (status === 503) return void refused.add(id);
      else throw new Error(`unexpected status ${status}`);
    }
  });
  await waitFor(() => acknowledged.size >= 300, "300 acknowledged updates", 20_000);

  const signalledAt = performance.now();
  const exited = first.terminate();
  // While the outbox waits for its sends, the webhook refuses: Telegram keeps the update and retries.
  await waitFor(() => refused.size > 0, "a 503 after SIGTERM", 5_000);
  const late = await postUpdate(first.url, textUpdate({ id: 3999, first_name: "L" }, "late", 999_999));
  expect(late.status).toBe(503);
  expect(await late.json()).toEqual({ ok: false, error: "timbre is shutting down; Telegram will retry the update" });
  expect(late.headers.get("retry-after")).toBe("5");

  expect(await exited).toBe(0);
  const stopSeconds = (performance.now() - signalledAt) / 1000;
  expect(stopSeconds).toBeLessThan(10);
  await Promise.all(clients);
  const output = first.output();
  expect(output).toContain('"msg":"shutting down: refusing new updates, finishing work in flight"');
  expect(output).toContain('"msg":"stopped"');
  // Every send in flight got its answer and was recorded before the database closed.
  expect(output).not.toContain("stopped with sends still in flight");
  const sentBeforeRestart = emulator.messages.length;
  // The outbox stopped after its current sends: most replies are still queued for the next start.
  expect(sentBeforeRestart).toBeGreaterThan(0);
  expect(sentBeforeRestart).toBeLessThan(acknowledged.size);

  const afterStop = new Database(`${dir.path}/timbre.db`, { readonly: true });
  expect(afterStop.query("SELECT count(*) AS n FROM outbox WHERE status = 'sending'").get()).toEqual({ n: 0 });
  expect(afterStop.query("SELECT count(*) AS n FROM outbox WHERE status = 'sent'").get()).toEqual({ n: sentBeforeRestart });
  for (const id of refused) expect(afterStop.query("SELECT 1 FROM updates WHERE update_id = ?").get(id)).toBeNull();
  afterStop.close();

  emulator.faults.delayMs = 0;
  const second = await spawnService(env);
  const everyId = [...acknowledged, ...refused, ...unanswered, 999_999];
  try {
    // Telegram redelivers what was not acknowledged, and may redeliver what was: both are handled once.
    for (const id of everyId) {
      const user = id === 999_999 ? { id: 3999, first_name: "L" } : { id: 3000 + ((id - 1) % 20), first_name: "S" };
      expect((await postUpdate(second.url, textUpdate(user, id === 999_999 ? "late" : `s${id}`, id))).status).toBe(200);
    }
    await waitFor(() => emulator.messages.length >= everyId.length, "every update to be echoed", 30_000);
    await waitFor(async () => {
      const stats = new Database(`${dir.path}/timbre.db`, { readonly: true });
      try {
        return (stats.query("SELECT count(*) AS n FROM updates WHERE status != 'done'").get() as { n: number }).n === 0;
      } finally {
        stats.close();
      }
    }, "every update to be done");
  } finally {
    expect(await second.terminate()).toBe(0);
  }

  // Graceful means not even the crash window of SPEC: every reply exactly once.
  const counts = new Map<string, number>();
  for (const m of emulator.messages) counts.set(m.text, (counts.get(m.text) ?? 0) + 1);
  expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
  for (const id of acknowledged) expect(counts.get(`s${id}`)).toBe(1);
  expect(counts.size).toBe(everyId.length);

  const db = new Database(`${dir.path}/timbre.db`, { readonly: true });
  expect(db.query("SELECT status, count(*) AS n FROM updates GROUP BY status").all()).toEqual([{ status: "done", n: everyId.length }]);
  expect(db.query("SELECT update_id FROM outbox GROUP BY update_id HAVING count(*) > 1").all()).toEqual([]);
  expect(db.query("SELECT status, count(*) AS n FROM outbox GROUP BY status").all()).toEqual([{ status: "sent", n: everyId.length }]);
  expect(db.query("SELECT status FROM runs WHERE status != 'done' LIMIT 1").all()).toEqual([]);
  db.close();
}, 60_000);

test("SIGTERM in polling mode ends the 25 s long poll at once and exits 0", async () => {
  const env = serviceEnv(emulator, apiUrl, `${dir.path}/polling.db`, { AGENT: "echo", BOT_MODE: "polling", SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });
  const service = await spawnService(env);
  emulator.sendText({ id: 3100, first_name: "P" }, "polled");
  await waitFor(() => emulator.sentTo(3100).length === 1, "the echo through getUpdates");
  // Now the poller sits in a long poll with nothing to fetch.
  await waitFor(() => emulator.inFlightCalls.get("getUpdates") === 1, "the next long poll");
  const started = performance.now();
  expect(await service.terminate()).toBe(0);
  expect(performance.now() - started).toBeLessThan(3_000);
  expect(service.output()).toContain('"msg":"stopped"');
  const db = new Database(`${dir.path}/polling.db`, { readonly: true });
  const lastStored = (db.query("SELECT max(update_id) AS id FROM updates").get() as { id: number }).id;
  expect(db.query("SELECT value FROM settings WHERE key = 'poll_offset'").get()).toEqual({ value: String(lastStored + 1) });
  db.close();
}, 30_000);

test("SIGTERM while the agent module still loads (slow, or a top-level await that never settles) exits 0 at once: nothing is open yet", async () => {
  for (const [name, source] of [
    ["slow", 'console.log("agent module loading");\nawait Bun.sleep(1500);\nexport default async (ctx) => { await ctx.reply("hi"); };\n'],
    ["hung", 'console.log("agent module loading");\nawait new Promise(() => {});\nexport default async () => {};\n'],
  ] as const) {
    const agent = `${dir.path}/${name}-start-agent.ts`;
    await Bun.write(agent, source);
    const database = `${dir.path}/${name}-start/timbre.db`;
    const env = serviceEnv(emulator, apiUrl, database, { AGENT: agent, LOG_LEVEL: "info" });
    const proc = Bun.spawn([process.execPath, join(ROOT, "src/main.ts")], { cwd: ROOT, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env }, stdout: "pipe", stderr: "pipe" });
    const stderr = new Response(proc.stderr).text();
    let seen = "";
    void (async () => {
      for await (const chunk of proc.stdout as unknown as AsyncIterable<Uint8Array>) seen += new TextDecoder().decode(chunk);
    })();
    await waitFor(() => seen.includes("agent module loading"), "the agent module to begin loading");
    proc.kill("SIGTERM");
    expect({ name, code: await proc.exited }).toEqual({ name, code: 0 });
    expect((await stderr).trim()).toBe("timbre: SIGTERM while the agent module loads: nothing is open yet; exiting");
    expect(seen).not.toContain("timbre is serving");
    expect(existsSync(database)).toBe(false);
  }
}, 20_000);

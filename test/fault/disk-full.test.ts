import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { postUpdate, serviceEnv, spawnService, startEmulator, tempDir, textUpdate, waitFor, type SpawnedService } from "../helpers.ts";

/**
 * The disk fills up under timbre at run time: the webhook must answer 503 (never 200 for an
 * update it could not store) and recover by itself once space is free again. A small tmpfs
 * is the disk; mounting needs root (CAP_SYS_ADMIN), so elsewhere this test is skipped and says so.
 */
const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
const mountPoint = `${dir.path}/disk`;
mkdirSync(mountPoint);
function mountSmallDisk(): string | undefined {
  try {
    const mount = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mountPoint]);
    return mount.exitCode === 0 ? undefined : mount.stderr.toString().trim() || `mount exited with ${mount.exitCode}`;
  } catch (error) {
    return String(error);
  }
}
const mountError = mountSmallDisk();
const mounted = mountError === undefined;
if (!mounted) {
  console.warn(`test/fault/disk-full.test.ts skipped: cannot mount a small tmpfs to fill (${mountError}); run the tests as root to include it (test/fault/storage-refuses-writes.test.ts covers the same without root)`);
}

let service: SpawnedService | undefined;
afterAll(async () => {
  await service?.kill9();
  emulator.stop();
  if (mounted) Bun.spawnSync(["umount", "-l", mountPoint]);
  dir.cleanup();
});

/** Writes until the filesystem refuses; returns the bytes written. */
function fill(path: string): number {
  const fd = openSync(path, "w");
  const chunk = Buffer.alloc(64 * 1024, 1);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    closeSync(fd);
  }
  // Squeeze out the last partial chunk too.
  const fd2 = openSync(path, "a");
  try {
    for (;;) written += writeSync(fd2, Buffer.alloc(512, 1));
  } catch {
    // full
  } finally {
    closeSync(fd2);
  }
  return written;
}

test.skipIf(!mounted)("disk full at run time: 503 and nothing acknowledged that was not stored; recovers when space is freed", async () => {
  const databasePath = `${mountPoint}/timbre.db`;
  const env = serviceEnv(emulator, apiUrl, databasePath, { AGENT: "echo", SEND_RATE_PER_CHAT: "10000", SEND_RATE_GLOBAL: "10000" });
  service = await spawnService(env);
  const url = service.url;
  const acknowledged = new Set<number>();
  const refused = new Set<number>();
  let nextId = 1;
  const padding = "p".repeat(1_000);
  /** Answers other than 200 and a 503 that says why: the test fails on any of them. */
  const wrongAnswers: string[] = [];
  const send = async (id: number) => {
    let response: Response;
    try {
      response = await postUpdate(url, textUpdate({ id: 6_000 + (id % 7), first_name: "D" }, `d${id} ${padding}`, id));
    } catch (error) {
      wrongAnswers.push(`${id}: ${String(error)}`);
      return 0;
    }
    const body = (await response.json()) as { ok: boolean; error?: string };
    if (response.status === 200) {
      acknowledged.add(id);
      refused.delete(id);
    } else if (response.status === 503 && body.ok === false && body.error?.includes("could not store") && response.headers.get("retry-after") === "5") {
      refused.add(id);
    } else {
      wrongAnswers.push(`${id}: ${response.status} ${JSON.stringify(body)}`);
    }
    return response.status;
  };

  for (let i = 0; i < 20; i++) expect(await send(nextId++)).toBe(200);
  await waitFor(() => emulator.messages.filter((m) => m.text.startsWith("d")).length === 20, "the first 20 echoes");

  const filler = `${mountPoint}/filler`;
  // The disk fills while 8 clients post and their updates are being handled and answered.
  let consecutive503 = 0;
  const clients = Array.from({ length: 8 }, async () => {
    for (let i = 0; i < 3_000 && consecutive503 < 20; i++) {
      consecutive503 = (await send(nextId++)) === 503 ? consecutive503 + 1 : 0;
    }
  });
  await waitFor(() => acknowledged.size >= 100, "load before the disk fills");
  fill(filler);
  await Promise.all(clients);
  expect(consecutive503).toBeGreaterThanOrEqual(20);
  expect(refused.size).toBeGreaterThanOrEqual(20);
  expect(wrongAnswers).toEqual([]);
  // Health and metrics still answer; the database reads fine.
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  expect(metrics).toMatch(/timbre_webhook_rejected_total\{status="503"\} [1-9]/);

  rmSync(filler);
  // Recovery without a restart: new updates and Telegram's redelivery of the refused ones are stored,
  // and updates whose handling the full disk interrupted are handled after all.
  await waitFor(async () => (await send(nextId++)) === 200, "the webhook to store updates again", 10_000);
  for (const id of [...refused]) expect(await send(id)).toBe(200);
  expect(refused.size).toBe(0);
  expect(wrongAnswers).toEqual([]);
  const ids = [...acknowledged];
  const unechoed = () => ids.filter((id) => !emulator.messages.some((m) => m.text.startsWith(`d${id} `)));
  await waitFor(() => unechoed().length === 0, "every acknowledged update to be echoed without a restart", 20_000).catch((error) => {
    const problems = service!.output().split("\n").filter((line) => /"level":"(warn|error)"/.test(line) && !line.includes("could not store the update"));
    const dbg = new Database(databasePath, { readonly: true });
    const missing = unechoed();
    const dump = JSON.stringify({
      updates: dbg.query(`SELECT update_id, status, error FROM updates WHERE update_id IN (${missing.join(",")})`).all(),
      runs: dbg.query(`SELECT id, status, trigger_update_id, chat_id FROM runs WHERE status IN ('running','waiting') OR trigger_update_id IN (${missing.join(",")})`).all(),
      steps: dbg.query(`SELECT * FROM run_steps WHERE run_id IN (SELECT id FROM runs WHERE status IN ('running','waiting'))`).all(),
      parked: dbg.query("SELECT * FROM parked_updates").all(),
      outbox: dbg.query(`SELECT id, status, update_id, attempts, last_error FROM outbox WHERE status != 'sent'`).all(),
    });
    dbg.close();
    throw new Error(`${error}; not echoed: ${missing.join(", ")}; ${dump}; the service said:\n${problems.slice(-30).join("\n")}`);
  });
  expect(await service.terminate()).toBe(0);
  service = undefined;

  const db = new Database(databasePath, { readonly: true });
  try {
    const rows = db.query("SELECT update_id, status FROM updates").all() as { update_id: number; status: string }[];
    expect(rows.length).toBe(acknowledged.size);
    expect(rows.filter((r) => r.status !== "done")).toEqual([]);
  } finally {
    db.close();
  }
}, 60_000);

import { afterAll, afterEach, expect, test } from "bun:test";
import type { ServiceOptions } from "../../src/app.ts";
import { systemClock } from "../../src/clock.ts";
import { openDatabase } from "../../src/db/index.ts";
import { getSetting, sqliteSettings } from "../../src/db/settings.ts";
import { Inbox } from "../../src/ingest/inbox.ts";
import { sqlitePollInbox } from "../../src/ingest/poll-inbox.ts";
import { Poller, POLL_OFFSET_KEY } from "../../src/ingest/poller.ts";
import { createLogger } from "../../src/observability/log.ts";
import { Metrics } from "../../src/observability/metrics.ts";
import type { BotApiEmulator } from "../../src/sandbox/emulator.ts";
import { TelegramApi } from "../../src/telegram/api.ts";
import { connectWebhook, healthy, serviceEnv, startEmulator, startInProcess, tempDir, waitFor, type Service } from "../helpers.ts";

const POLL_TIMING: ServiceOptions["pollTiming"] = { backoffBaseMs: 20, backoffCapMs: 200, slowRetryMs: 300 };
const dirs: { cleanup(): void }[] = [];
const running: { service?: Service; emulator: BotApiEmulator }[] = [];

afterEach(async () => {
  for (const r of running.splice(0)) {
    await r.service?.stop();
    r.emulator.stop();
  }
});
afterAll(() => dirs.forEach((d) => d.cleanup()));

function capture(): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return { lines, logger: createLogger("debug", [], (line) => void lines.push(line)) };
}

async function pollingService(emulator: BotApiEmulator, apiUrl: string, dbPath: string, logger = capture().logger, extra: Record<string, string> = {}) {
  return startInProcess(serviceEnv(emulator, apiUrl, dbPath, { BOT_MODE: "polling", AGENT: "echo", SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000", ...extra }), {
    logger,
    pollTiming: POLL_TIMING,
  });
}

function setup() {
  const { emulator, apiUrl } = startEmulator();
  const dir = tempDir();
  dirs.push(dir);
  const slot: { service?: Service; emulator: BotApiEmulator } = { emulator };
  running.push(slot);
  return { emulator, apiUrl, dbPath: `${dir.path}/timbre.db`, slot };
}

function offsetsAsked(emulator: BotApiEmulator): (number | undefined)[] {
  return emulator.callsOf("getUpdates").map((c) => (c.params.offset === undefined ? undefined : Number(c.params.offset)));
}

test("switching from webhook to polling deletes the webhook, keeps pending updates and processes them", async () => {
  const { emulator, apiUrl, dbPath, slot } = setup();
  // A webhook nobody answers: the updates stay pending at "Telegram".
  await connectWebhook(emulator, "http://127.0.0.1:1");
  const user = { id: 701, first_name: "Pia" };
  emulator.sendText(user, "first while the webhook was set");
  emulator.sendText(user, "second while the webhook was set");
  const { lines, logger } = capture();

  slot.service = await pollingService(emulator, apiUrl, dbPath, logger);

  await waitFor(() => emulator.sentTo(user.id).length === 2, "both pending updates to be echoed");
  expect(emulator.sentTo(user.id).map((m) => m.text)).toEqual(["first while the webhook was set", "second while the webhook was set"]);
  const deletes = emulator.callsOf("deleteWebhook");
  expect(deletes).toHaveLength(1);
  expect(String(deletes[0]!.params.drop_pending_updates)).toBe("false");
  expect(emulator.callsOf("getWebhookInfo")[0]!.at).toBeLessThanOrEqual(deletes[0]!.at);
  expect(lines.some((l) => l.includes("deleted the webhook") && l.includes("http://127.0.0.1:1/telegram/webhook"))).toBe(true);
  // The webhook route refuses in polling mode; health keeps working.
  expect((await fetch(`${slot.service.url}/telegram/webhook`, { method: "POST", headers: { "x-telegram-bot-api-secret-token": "test-secret_0123456789abcdefghijklmnop" }, body: "{}" })).status).toBe(409);
  expect(await (await fetch(`${slot.service.url}/healthz`)).json()).toMatchObject({ status: "ok", mode: "polling" });
}, 30_000);

test("polling survives injected 5xx and 429 on getUpdates: every update is handled once, in order per chat", async () => {
  const { emulator, apiUrl, dbPath, slot } = setup();
  emulator.faults = { ...emulator.faults, rate5xx: 0.4, rate429: 0.05, retryAfter: 1, methods: ["getUpdates"] };
  const { lines, logger } = capture();
  slot.service = await pollingService(emulator, apiUrl, dbPath, logger);
  const users = [801, 802, 803].map((id) => ({ id, first_name: `U${id}` }));
  const pushed: number[] = [];
  for (let i = 0; i < 15; i++) for (const user of users) pushed.push(emulator.sendText(user, `${user.id}-${i}`).update_id);

  for (const user of users) {
    await waitFor(() => emulator.sentTo(user.id).length >= 15, `15 echoes for ${user.id}`, 20_000);
    expect(emulator.sentTo(user.id).map((m) => m.text)).toEqual(Array.from({ length: 15 }, (_, i) => `${user.id}-${i}`));
  }
  const failed = emulator.callsOf("getUpdates").filter((c) => c.status === 502);
  expect(failed.length).toBeGreaterThan(0);
  expect(lines.some((l) => l.includes("backing off"))).toBe(true);
  await waitFor(() => getSetting(slot.service!.database.db, POLL_OFFSET_KEY) === String(Math.max(...pushed) + 1), "the offset to be the last update + 1");
  expect(await slot.service.metrics.render()).toContain("timbre_updates_duplicate_total 0");
}, 30_000);

test("the stored offset survives a restart: polling goes on from it and nothing is handled twice", async () => {
  const { emulator, apiUrl, dbPath, slot } = setup();
  const user = { id: 901, first_name: "Rae" };
  slot.service = await pollingService(emulator, apiUrl, dbPath);
  const first = emulator.sendText(user, "before restart");
  await waitFor(() => emulator.sentTo(user.id).length === 1, "the first echo");
  // The next long poll confirms the first update to "Telegram" (its queue drops it).
  await waitFor(() => emulator.pendingUpdates() === 0, "a getUpdates that confirms the first update");

  // Stop while the long poll is open: it must end at once, not after its 25 s.
  const stopStarted = Date.now();
  await slot.service.stop();
  expect(Date.now() - stopStarted).toBeLessThan(3_000);
  slot.service = undefined;

  const second = emulator.sendText(user, "while stopped");
  slot.service = await pollingService(emulator, apiUrl, dbPath);
  expect(getSetting(slot.service.database.db, POLL_OFFSET_KEY)).toBe(String(first.update_id + 1));
  await waitFor(() => emulator.sentTo(user.id).length === 2, "the echo of the update sent while stopped");
  expect(emulator.sentTo(user.id).map((m) => m.text)).toEqual(["before restart", "while stopped"]);
  // After the first batch was stored, no getUpdates ever asked from an older offset again.
  const asked = offsetsAsked(emulator);
  expect(asked[0]).toBeUndefined();
  expect(asked.slice(1).every((offset) => offset !== undefined && offset >= first.update_id + 1)).toBe(true);
  await waitFor(() => getSetting(slot.service!.database.db, POLL_OFFSET_KEY) === String(second.update_id + 1), "the offset past the second update");
  expect(await slot.service.metrics.render()).toContain("timbre_updates_duplicate_total 0");
}, 30_000);

test("409 Conflict: one clear log line, slow retries, and polling resumes when the conflict ends", async () => {
  const { emulator, apiUrl, dbPath, slot } = setup();
  const { lines, logger } = capture();
  slot.service = await pollingService(emulator, apiUrl, dbPath, logger);
  await waitFor(() => slot.service!.poller?.state === "polling" && emulator.callsOf("getWebhookInfo").length === 1, "polling to start");

  // Someone sets a webhook with this token (or another instance polls): getUpdates answers 409.
  await connectWebhook(emulator, "http://127.0.0.1:1");
  await waitFor(() => emulator.callsOf("getUpdates").filter((c) => c.status === 409).length >= 3, "three 409 answers");
  const conflictLines = lines.filter((l) => l.includes("409 Conflict"));
  expect(conflictLines).toHaveLength(1);
  expect(conflictLines[0]).toContain("another instance");
  expect(conflictLines[0]).toContain('"level":"warn"');
  // Retries are slow (slowRetryMs 300 ± 25 %), not a busy loop.
  const conflicts = emulator.callsOf("getUpdates").filter((c) => c.status === 409);
  const gaps = conflicts.slice(1).map((c, i) => c.at - conflicts[i]!.at);
  expect(Math.min(...gaps.slice(1))).toBeGreaterThanOrEqual(200);
  expect(await healthy(slot.service.url)).toBe(true);

  await emulator.fetch(new Request(`http://emulator/bot${emulator.token}/deleteWebhook`, { method: "POST" }));
  const user = { id: 1001, first_name: "Sol" };
  emulator.sendText(user, "after the conflict");
  await waitFor(() => emulator.sentTo(user.id).length === 1, "the echo after the conflict ended");
  expect(lines.some((l) => l.includes("the conflict is over"))).toBe(true);
  expect(lines.filter((l) => l.includes("409 Conflict"))).toHaveLength(1);
}, 30_000);

test("401: polling stops with a clear error about TELEGRAM_BOT_TOKEN while health, metrics and admin keep serving", async () => {
  const { emulator, apiUrl, dbPath, slot } = setup();
  const { lines, logger } = capture();
  slot.service = await pollingService(emulator, apiUrl, dbPath, logger, { TELEGRAM_BOT_TOKEN: "999:wrong-token", ADMIN_TOKEN: "admin-secret-1" });
  await waitFor(() => slot.service!.poller?.state === "unauthorized", "the poller to give up");
  const error = lines.find((l) => l.includes("TELEGRAM_BOT_TOKEN"));
  expect(error).toContain('"level":"error"');
  expect(error).toContain("401");
  const calls = emulator.calls.length;
  expect(await healthy(slot.service.url)).toBe(true);
  expect((await fetch(`${slot.service.url}/metrics`)).status).toBe(200);
  const stats = await fetch(`${slot.service.url}/admin/stats`, { headers: { authorization: "Bearer admin-secret-1" } });
  expect(stats.status).toBe(200);
  expect(((await stats.json()) as { mode: string }).mode).toBe("polling");
  // Nothing more is asked of Telegram with a token it refused.
  await Bun.sleep(400);
  expect(emulator.calls.length).toBe(calls);
}, 30_000);

test("an item of getUpdates that is not a valid Update is skipped and the offset still moves past the batch", async () => {
  const { emulator, apiUrl, dbPath, slot } = setup();
  const { lines, logger } = capture();
  const user = { id: 1101, first_name: "Tam" };
  emulator.pushUpdate({ update_id: 0.5, message: { text: "not an integer update_id" } });
  const valid = emulator.sendText(user, "valid one");
  slot.service = await pollingService(emulator, apiUrl, dbPath, logger);
  await waitFor(() => emulator.sentTo(user.id).length === 1, "the valid update's echo");
  expect(lines.some((l) => l.includes("not a valid Update"))).toBe(true);
  expect(getSetting(slot.service.database.db, POLL_OFFSET_KEY)).toBe(String(valid.update_id + 1));
  // The next getUpdates confirms the whole batch, the skipped item included.
  await waitFor(() => emulator.pendingUpdates() === 0, "the next getUpdates to confirm the batch");
}, 30_000);

test("sandbox with BOT_MODE=polling polls the built-in emulator instead of setting a webhook", async () => {
  const dir = tempDir();
  dirs.push(dir);
  const service = await startInProcess({ DATABASE_PATH: `${dir.path}/timbre.db`, HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "warn", BOT_MODE: "polling", AGENT: "echo" });
  try {
    const emulator = service.emulator!;
    const user = { id: 1201, first_name: "Uma" };
    emulator.sendText(user, "hello sandbox");
    await waitFor(() => emulator.sentTo(user.id).length === 1, "the echo through getUpdates");
    expect(emulator.sentTo(user.id)[0]!.text).toBe("hello sandbox");
    expect(emulator.callsOf("setWebhook")).toHaveLength(0);
    expect(emulator.callsOf("getUpdates").length).toBeGreaterThan(0);
    const stopStarted = Date.now();
    await service.stop();
    expect(Date.now() - stopStarted).toBeLessThan(3_000);
  } finally {
    await service.stop();
  }
}, 30_000);

test("a server that answers getUpdates at once with nothing (ignoring timeout) is asked again only after a pause of at least 1 s", async () => {
  const { emulator, apiUrl, dbPath, slot } = setup();
  emulator.ignoreLongPollTimeout = true;
  const { lines, logger } = capture();
  slot.service = await pollingService(emulator, apiUrl, dbPath, logger);
  await waitFor(() => emulator.callsOf("getUpdates").length >= 4, "four getUpdates calls", 10_000);
  const calls = emulator.callsOf("getUpdates");
  const gaps = calls.slice(1, 4).map((call, i) => call.at - calls[i]!.at);
  // A millisecond of slack for timer rounding.
  for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(999);
  expect(calls.every((call) => call.status === 200)).toBe(true);
  expect(lines.filter((line) => line.includes("the server ignores timeout"))).toHaveLength(1);
  // Updates still come through at once when there are some.
  const user = { id: 1301, first_name: "Vic" };
  emulator.sendText(user, "still polled");
  await waitFor(() => emulator.sentTo(user.id).length === 1, "the echo through the misbehaving server");
});

test("built from the engine-agnostic parts on SQLite (sqlitePollInbox, sqliteSettings, no leadership), the poller stores each batch with its offset", async () => {
  const { emulator, apiUrl, dbPath } = setup();
  const database = openDatabase(dbPath);
  const inbox = new Inbox(database.db, systemClock);
  const metrics = new Metrics();
  const poller = new Poller(
    { api: new TelegramApi({ apiUrl, token: emulator.token }), inbox: sqlitePollInbox(inbox), settings: sqliteSettings(database.db), clock: systemClock, log: capture().logger, metrics },
    { allowedUpdates: ["message"], timing: POLL_TIMING },
  );
  try {
    poller.start();
    const ids = Array.from({ length: 12 }, (_, i) => emulator.sendText({ id: 1401 + (i % 3), first_name: "Wes" }, `direct ${i}`).update_id);
    await waitFor(() => getSetting(database.db, POLL_OFFSET_KEY) === String(ids.at(-1)! + 1), "the offset past the last update");
    expect(inbox.list({ limit: 100 }).map((row) => row.updateId).sort((a, b) => a - b)).toEqual(ids);
    expect(metrics.updatesReceived.get()).toBe(ids.length);
    expect(poller.state).toBe("polling");
  } finally {
    await poller.stop();
    database.close();
  }
});


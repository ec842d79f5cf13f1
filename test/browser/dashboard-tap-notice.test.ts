/**
 * A run answered by tapping a button: timbre marks the chosen answer with an
 * editMessageReplyMarkup row in the outbox. That row is no message timbre sent about the run
 * (cancelled, failed, timed out): GET /admin/runs/{id} lists no notice for it, and the dashboard's
 * journal shows no empty "timbre told the user" entry (both did).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { startService, type Service } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/observability/log.ts";
import { tempDir, waitFor } from "../helpers.ts";
import { hasChromium, launchBrowser, type LaunchedBrowser } from "./launch.ts";
import { signInAt } from "./dashboard-support.ts";

const ADMIN_TOKEN = "audit-token_0123456789abcdef";
const STEP_MS = 15_000;
const dir = tempDir();
let service: Service;
let browser: LaunchedBrowser | undefined;
let page: Page;

beforeAll(async () => {
  service = await startService(loadConfig({ DATABASE_PATH: `${dir.path}/timbre.db`, PORT: "0", HOST: "127.0.0.1", ADMIN_TOKEN, SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }), {
    logger: silentLogger,
  });
  if (hasChromium) {
    browser = await launchBrowser();
    page = await browser.newPage();
  }
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  dir.cleanup();
});

const user = { id: 818_181, first_name: "Tia", language_code: "en" };
const post = (path: string, body: unknown) => fetch(`${service.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const admin = async (path: string) => (await fetch(`${service.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json();

interface Detail {
  id: number;
  status: string;
  notices: { outbox_id: number; text: string; status: string; message_id: number | null }[];
}

let runId = 0;
let ready = false;

test("GET /admin/runs/{id}: a run finished by tapping a level button has no notices", async () => {
  for (const [text, count] of [["hi", 1], ["run a 10k", 2], ["3", 3]] as const) {
    expect((await post("/sandbox/send", { user, text })).status).toBe(200);
    await waitFor(() => service.emulator!.sentTo(user.id).length === count, `the coach's message ${count}`);
  }
  const level = service.emulator!.sentTo(user.id)[2]!;
  expect(level.reply_markup?.inline_keyboard.flat().map((b) => b.text)).toEqual(["Beginner", "Intermediate", "Advanced"]);
  expect((await post("/sandbox/tap", { user, message_id: level.message_id, button: "Beginner" })).status).toBe(200);

  runId = service.runtime.list({ conversation: String(user.id), limit: 1 })[0]!.id;
  // The plan is sent and the keyboard is marked (✓ Beginner): everything is done.
  const done = await waitFor(async () => {
    const detail = (await admin(`/admin/runs/${runId}`)) as Detail;
    const marked = service.emulator!.sentTo(user.id)[2]!.reply_markup?.inline_keyboard.flat()[0]?.text === "✓ Beginner";
    return detail.status === "done" && marked && service.emulator!.sentTo(user.id).length === 4 ? detail : undefined;
  }, "the run to end with the choice marked", STEP_MS);
  ready = true;

  // README: `notices`: the messages timbre itself sent about the run (cancelled, failed, timed out).
  expect(done.notices).toEqual([]);
}, 60_000);

test.skipIf(!hasChromium)("the dashboard's journal of that run shows no 'timbre told the user' entry", async () => {
  expect(ready).toBe(true);
  await signInAt(page, service.url, ADMIN_TOKEN);
  await page.locator(`.run-item[data-run-id="${runId}"]`).click({ timeout: STEP_MS });
  await page.locator("#timeline li.entry[data-kind='end']", { hasText: "Ended done" }).waitFor({ timeout: STEP_MS });
  expect(await page.locator("#timeline li.entry[data-kind='notice']").allInnerTexts()).toEqual([]);
}, 60_000);

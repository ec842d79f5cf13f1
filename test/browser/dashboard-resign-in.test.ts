/**
 * Signing out and in again while the previous session's poll still waits for an answer (a slow
 * link): the new session's first poll, asked for meanwhile, runs once the old one ends (it used
 * to be dropped with the stale session, and the dashboard never polled again).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Page, Route } from "playwright-core";
import { startService, type Service } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/observability/log.ts";
import { tempDir, waitFor } from "../helpers.ts";
import { hasChromium, launchBrowser, type LaunchedBrowser } from "./launch.ts";

const ADMIN_TOKEN = "audit-token_0123456789abcdef";
const dir = tempDir();
let service: Service;
let browser: LaunchedBrowser | undefined;
let page: Page;

beforeAll(async () => {
  if (!hasChromium) return;
  service = await startService(loadConfig({ DATABASE_PATH: `${dir.path}/timbre.db`, PORT: "0", HOST: "127.0.0.1", ADMIN_TOKEN, SEND_RATE_PER_CHAT: "1000" }), { logger: silentLogger });
  browser = await launchBrowser();
  page = await browser.newPage();
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  dir.cleanup();
});

async function signIn(): Promise<void> {
  await page.fill("#token", ADMIN_TOKEN);
  await page.click("#sign-in");
}

test.skipIf(!hasChromium)("after signing out and in during a slow poll, the dashboard still refreshes live", async () => {
  await page.goto(`${service.url}/admin/ui`);
  await signIn();
  await page.locator("#live", { hasText: "live ·" }).waitFor({ timeout: 15_000 });

  // The next poll's failed-messages request is held, as on a slow link.
  const held: Route[] = [];
  let holding = true;
  await page.route("**/admin/outbox?*", (route) => (holding ? void held.push(route) : route.continue()));
  await waitFor(() => held.length > 0, "a poll in flight", 15_000);

  await page.click("#sign-out");
  await page.locator("#login").waitFor();
  await signIn();
  await page.locator("#dashboard").waitFor();
  holding = false;
  for (const route of held) await route.continue();

  // A user writes: the counts must follow (polls every 2 s).
  const sent = await fetch(`${service.url}/sandbox/send`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user: { id: 919_191, first_name: "Ola" }, text: "hi" }) });
  expect(sent.status).toBe(200);
  await waitFor(() => service.runtime.list({ conversation: "919191", limit: 1 })[0]?.status === "waiting", "the coach's run to wait");
  const count = () => page.evaluate(() => [document.querySelector('[data-count="runs.waiting"]')?.textContent ?? null, document.getElementById("live")!.textContent]);
  await waitFor(async () => (await count())[0] === "1", `the dashboard to show the waiting run (it shows ${JSON.stringify(await count())})`, 15_000);
  expect(await page.locator("#live").textContent()).toStartWith("live ·");
}, 60_000);

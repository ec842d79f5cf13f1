/**
 * README "Operating a bot", 2: "**Watch.** ... the runs, newest first, with their status ...
 * Filter by status or by conversation (the chat id), page with **Older** / **Newer**."
 * SPEC "Dashboard": it shows "the runs, filterable by status and conversation".
 *
 * The page enables **Older** whenever a page is full (src/admin/ui/page.js renderRuns:
 * `list.length < PAGE_SIZE`), so with exactly 20 runs it offers an older page that does not
 * exist, and that empty page tells the operator "No runs yet. A run starts when someone writes
 * to the bot" (noRuns with no filter) although 20 runs are stored.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { postUpdate, serviceRig, textUpdate, waitFor, type Service } from "../helpers.ts";
import { hasChromium, launchBrowser, type LaunchedBrowser } from "./launch.ts";
import { signInAt } from "./dashboard-support.ts";

const ADMIN_TOKEN = "admin-token-for-dashboard-tests_0123456789";
const RUNS = 20; // the page's PAGE_SIZE
const rig = serviceRig();
let service: Service;
let browser: LaunchedBrowser | undefined;
let page: Page;

beforeAll(async () => {
  if (!hasChromium) return;
  service = await rig.start({ ADMIN_TOKEN, SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }, { agent: async () => {} });
  await Promise.all(Array.from({ length: RUNS }, (_, i) => postUpdate(service.url, textUpdate({ id: 8000 + i, first_name: "R" }, `hi ${i}`, 60_000 + i))));
  await waitFor(() => service.runtime.list({ status: "done", limit: 100 }).length === RUNS, `${RUNS} done runs`, 30_000);
  browser = await launchBrowser();
  page = await browser.newPage();
});

afterAll(async () => {
  await browser?.close();
});

describe.skipIf(!hasChromium)("the dashboard's run pages", () => {
  test("with exactly one full page of runs, Older never leads to a page saying there are no runs", async () => {
    await signInAt(page, service.url, ADMIN_TOKEN);
    await page.locator(".run-item").first().waitFor({ timeout: 15_000 });
    expect(await page.locator(".run-item").count()).toBe(RUNS);
    let shown = "Older disabled";
    if (!(await page.locator("#older").isDisabled())) {
      await page.click("#older");
      await page.locator("#run-list li").first().waitFor({ timeout: 15_000 });
      await page.locator("#newer:not([disabled])").waitFor({ timeout: 15_000 });
      // A poll answers within a moment; wait until the list changed from the first page.
      await waitFor(async () => (await page.locator(".run-item").count()) !== RUNS, "the older page", 15_000);
      shown = await page.locator("#run-list").innerText();
    }
    expect(shown).not.toContain("No runs yet");
  }, 60_000);
});

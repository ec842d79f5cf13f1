/**
 * README "Operating a bot", 5: "**Fix what failed.** The **Failed** tab lists the failed updates
 * (the agent threw: its error and the text it threw on) and the failed messages ..., each with
 * **Retry**." SPEC "Dashboard": it shows "the failed updates and failed messages with their
 * errors. A person can ... retry a failed update or message from it."
 *
 * The page asks GET /admin/updates?status=failed&limit=100 once (src/admin/ui/page.js, poll())
 * and has no paging on the Failed tab: with 101 dead letters the tab's count says 101 but only
 * 100 are listed, and the oldest one can never be seen or retried from the page.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { postUpdate, serviceRig, textUpdate, waitFor, type Service } from "../helpers.ts";
import { hasChromium, launchBrowser, type LaunchedBrowser } from "./launch.ts";
import { signInAt } from "./dashboard-support.ts";

const ADMIN_TOKEN = "admin-token-for-dashboard-tests_0123456789";
const FAILED = 101;
const rig = serviceRig();
let service: Service;
let browser: LaunchedBrowser | undefined;
let page: Page;

beforeAll(async () => {
  if (!hasChromium) return;
  service = await rig.start({ ADMIN_TOKEN }, {
    agent: async () => {
      throw new Error("the agent crashed on purpose");
    },
  });
  for (let i = 0; i < FAILED; i += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, FAILED - i) }, (_, j) => postUpdate(service.url, textUpdate({ id: 9000 + i + j, first_name: "F" }, `crash ${i + j}`, 50_000 + i + j))),
    );
  }
  await waitFor(() => service.inbox.counts().failed === FAILED, `${FAILED} failed updates`, 30_000);
  browser = await launchBrowser();
  page = await browser.newPage();
});

afterAll(async () => {
  await browser?.close();
});

describe.skipIf(!hasChromium)("the dashboard's Failed tab", () => {
  test("with 101 failed updates, the newest 100 are listed and Show older lists the last one, with its Retry", async () => {
    await signInAt(page, service.url, ADMIN_TOKEN);
    await page.locator("#live", { hasText: "live" }).waitFor({ timeout: 15_000 });
    await page.click('.tab[data-tab="failed"]');
    await page.locator("#failed-count", { hasText: String(FAILED) }).waitFor({ timeout: 15_000 });
    await page.locator(".failed-update").first().waitFor({ timeout: 15_000 });
    // The newest 100 first; "Show older" lists the rest.
    expect(await page.locator(".failed-update").count()).toBe(100);
    await page.click("#more-failed-updates");
    await page.locator('.failed-update[data-update-id="50000"]').waitFor({ timeout: 15_000 });
    expect(await page.locator("#more-failed-updates").isHidden()).toBe(true);
    const listed = await page.locator(".failed-update").count();
    const oldest = await page.locator('.failed-update[data-update-id="50000"] [data-retry-update]').count();
    expect({ listed, oldestRetryButton: oldest }).toEqual({ listed: FAILED, oldestRetryButton: 1 });
  }, 60_000);
});

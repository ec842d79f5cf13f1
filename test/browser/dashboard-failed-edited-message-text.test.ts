/**
 * README "Operating a bot", 5: "**Fix what failed.** The **Failed** tab lists the failed updates
 * (the agent threw: its error and the text it threw on) ...". SPEC "Dashboard": "the failed
 * updates and failed messages with their errors".
 *
 * An `edited_message` starts a run like any message (README "How timbre reads updates"), and the
 * run's journal shows its text (page-journal.js trigger(): message ?? edited_message ??
 * business_message). The Failed tab reads only `update.message.text`
 * (src/admin/ui/page-lists.js failedUpdateItems), so when the agent throws on an edited message
 * or a business message, the operator sees the error but not the text it threw on.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { postUpdate, serviceRig, waitFor, type Service } from "../helpers.ts";
import { hasChromium, launchBrowser, type LaunchedBrowser } from "./launch.ts";
import { signInAt } from "./dashboard-support.ts";

const ADMIN_TOKEN = "admin-token-for-dashboard-tests_0123456789";
const rig = serviceRig();
let service: Service;
let browser: LaunchedBrowser | undefined;
let page: Page;
const user = { id: 8701, is_bot: false, first_name: "Eda" };

beforeAll(async () => {
  if (!hasChromium) return;
  service = await rig.start({ ADMIN_TOKEN }, {
    agent: async () => {
      throw new Error("the agent crashed on purpose");
    },
  });
  const edited = {
    update_id: 70_001,
    edited_message: { message_id: 5, from: user, chat: { id: user.id, type: "private", first_name: "Eda" }, date: 1_700_000_000, edit_date: 1_700_000_060, text: "the edited text it threw on" },
  };
  expect((await postUpdate(service.url, edited)).status).toBe(200);
  await waitFor(() => service.inbox.counts().failed === 1, "the edited message to fail");
  browser = await launchBrowser();
  page = await browser.newPage();
});

afterAll(async () => {
  await browser?.close();
});

describe.skipIf(!hasChromium)("the dashboard's Failed tab", () => {
  test("a failed edited message shows its error and the text it threw on", async () => {
    await signInAt(page, service.url, ADMIN_TOKEN);
    await page.click('.tab[data-tab="failed"]');
    const item = page.locator('.failed-update[data-update-id="70001"]');
    await item.waitFor({ timeout: 15_000 });
    const shown = await item.innerText();
    expect(shown).toContain("the agent crashed on purpose");
    expect(shown).toContain("the edited text it threw on");
  }, 60_000);
});

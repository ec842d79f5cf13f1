/**
 * The dashboard's Failed tab in a real browser against the real service in sandbox mode: a
 * message Telegram refused and an update the agent failed on, each retried from the page once
 * its cause is gone; every step checked on the page and saved as a screenshot in test/artifacts/.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { waitFor } from "../helpers.ts";
import { ADMIN_TOKEN, botMessages, dashboardAgent, dashboardRig, openRun, page, runOf, say, service, signIn, snapshot, STEP_MS, text, users } from "./dashboard-support.ts";
import { hasChromium } from "./launch.ts";

let crashOnPurpose = true;
dashboardRig(dashboardAgent(() => crashOnPurpose));

/** Signed in, as an operator comes to the Failed tab. */
beforeAll(async () => {
  if (!hasChromium) return;
  await page.goto(`${service.url}/admin/ui`);
  await signIn(ADMIN_TOKEN);
  await page.locator("#live", { hasText: "live" }).waitFor({ timeout: STEP_MS });
});

describe.skipIf(!hasChromium)("the dashboard", () => {
  test("a message Telegram refused (the user blocked the bot) is retried from the Failed tab once unblocked", async () => {
    service.emulator!.faults.blockedChats.add(users.cy.id);
    await say(users.cy, "hello");
    await page.click('.tab[data-tab="failed"]');
    const failed = page.locator(".failed-message").filter({ hasText: `to chat ${users.cy.id}` });
    await failed.waitFor({ timeout: STEP_MS });
    expect(await failed.innerText()).toContain("What is your training goal?");
    expect(await failed.innerText()).toContain("Forbidden: bot was blocked by the user");
    expect(await text("#failed-count")).toBe("1");
    const shown = await snapshot("dashboard-failed-message.png");
    expect(shown).toContain("Failed messages");
    expect(botMessages(users.cy)).toHaveLength(0);

    service.emulator!.faults.blockedChats.delete(users.cy.id);
    await failed.locator("[data-retry-message]").click();
    await page.locator("#toast", { hasText: "is queued again" }).waitFor({ timeout: STEP_MS });
    await page.locator("#failed-messages .empty", { hasText: "No failed messages." }).waitFor({ timeout: STEP_MS });
    await waitFor(() => botMessages(users.cy).length === 1, "the retried question to reach the user");
    expect(await text("#failed-count")).toBe("");

    // The run's journal now shows the question delivered, with its Telegram message id.
    await page.click('.tab[data-tab="runs"]');
    const run = await runOf(users.cy);
    await openRun(run.id);
    await page.locator("#timeline .delivery.sent", { hasText: `Telegram message #${botMessages(users.cy)[0]!.message_id}` }).waitFor({ timeout: STEP_MS });
    expect(await snapshot("dashboard-message-retried.png")).toContain("Waiting for the answer");
  });

  test("an update the agent failed on is retried from the Failed tab and handled", async () => {
    const updateId = await say(users.dee, "crash please");
    await page.click('.tab[data-tab="failed"]');
    const failed = page.locator(`.failed-update[data-update-id="${updateId}"]`);
    await failed.waitFor({ timeout: STEP_MS });
    expect(await failed.innerText()).toContain("the agent crashed on purpose");
    expect(await failed.innerText()).toContain("crash please");
    await snapshot("dashboard-failed-update.png");
    crashOnPurpose = false;
    await failed.locator("[data-retry-update]").click();
    await page.locator("#toast", { hasText: `Update ${updateId} is back in its chat's queue.` }).waitFor({ timeout: STEP_MS });
    await waitFor(() => botMessages(users.dee).some((m) => m.text === "recovered"), "the retried update to be handled", STEP_MS);
    await page.locator("#failed-updates .empty", { hasText: "No failed updates." }).waitFor({ timeout: STEP_MS });
  });
});

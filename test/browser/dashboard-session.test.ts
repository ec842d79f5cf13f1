/**
 * An operator's session on the dashboard (/admin/ui) in a real browser (Debian chromium via
 * playwright-core) against the real service in sandbox mode: a wrong token, then signing in,
 * runs and their journals growing live as users answer the coach, the pending questions and
 * cancelling, filters and 390 px, signing out; every step checked on the page and saved as a
 * screenshot in test/artifacts/.
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT, waitFor } from "../helpers.ts";
import { ADMIN_TOKEN, botMessages, dashboardAgent, dashboardRig, entries, openRun, page, runOf, say, service, signIn, snapshot, STEP_MS, text, users } from "./dashboard-support.ts";
import { hasChromium } from "./launch.ts";

/** The README's picture: written when missing, or refreshed with UPDATE_DOCS_SCREENSHOT=1 (it is committed). */
const DOCS_SCREENSHOT = join(ROOT, "docs", "dashboard.png");

dashboardRig(dashboardAgent());

describe.skipIf(!hasChromium)("the dashboard", () => {
  test("a wrong token shows a clear message and no data; nothing is kept", async () => {
    await say(users.ana, "hi");
    await waitFor(() => botMessages(users.ana).length === 1, "the coach's first question");
    await page.goto(`${service.url}/admin/ui`);
    await page.locator("#token").waitFor();
    await signIn("not-the-token");
    const error = page.locator("#login-error");
    await error.waitFor({ state: "visible" });
    expect(await error.innerText()).toBe("Wrong token: it must be exactly the value of ADMIN_TOKEN that timbre runs with. Check it and try again.");
    const shown = await snapshot("dashboard-wrong-token.png");
    expect(shown).toContain("Wrong token");
    expect(shown).not.toContain("What is your training goal");
    expect(await page.locator("#dashboard").isHidden()).toBe(true);
    expect(await page.locator(".run-item, .stat-card, #timeline").count()).toBe(0);
    expect(await page.evaluate(() => [sessionStorage.length, localStorage.length])).toEqual([0, 0]);
    expect(page.url()).toBe(`${service.url}/admin/ui`);
  });

  test("log in, see the coach's run wait on its question, open its journal", async () => {
    await signIn(ADMIN_TOKEN);
    await page.locator("#live", { hasText: "live" }).waitFor({ timeout: STEP_MS });
    const run = await runOf(users.ana);
    const item = page.locator(`.run-item[data-run-id="${run.id}"]`);
    await item.waitFor({ timeout: STEP_MS });
    expect(await item.innerText()).toContain("waiting on: What is your training goal?");
    expect(await text('[data-count="runs.waiting"]')).toBe("1");
    expect(await text("#questions-count")).toBe("1");

    await openRun(run.id);
    const question = entries().filter({ hasText: "Question" });
    await question.locator(".delivery.sent").waitFor({ timeout: STEP_MS });
    const asked = botMessages(users.ana)[0]!;
    expect(await question.innerText()).toContain(`Telegram message #${asked.message_id}`);
    expect(await question.innerText()).toContain("Waiting for the answer · times out at");
    const shown = await snapshot("dashboard-run-waiting.png");
    expect(shown).toContain(`Run #${run.id}`);
    expect(shown).toContain("Started by update");
    expect(shown).toContain(asked.text);
    // The token lives in this tab's sessionStorage only; never in the URL or localStorage.
    expect(await page.evaluate(() => [sessionStorage.getItem("timbre.admin.token"), localStorage.length])).toEqual([ADMIN_TOKEN, 0]);
    expect(page.url()).not.toContain(ADMIN_TOKEN);
  });

  test("answers in the sandbox grow the journal live, without a reload, up to the plan", async () => {
    const run = await runOf(users.ana);
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    await say(users.ana, "run a 10k");
    await page.locator("#timeline .answer-text", { hasText: "“run a 10k”" }).waitFor({ timeout: STEP_MS });
    await waitFor(async () => (await entries().count()) === 3, "the second question in the journal", STEP_MS);
    expect(await entries().nth(2).innerText()).toContain("How many days per week can you train?");
    await say(users.ana, "3");
    await waitFor(() => botMessages(users.ana).length === 3, "the third question");
    await say(users.ana, "beginner");
    await page.locator("#timeline li.entry[data-kind='end']", { hasText: "Ended done" }).waitFor({ timeout: STEP_MS });
    const plan = entries().filter({ hasText: "Reply" });
    await plan.locator(".delivery.sent").waitFor({ timeout: STEP_MS });
    const sentPlan = botMessages(users.ana)[3]!;
    expect(await plan.innerText()).toContain(`Telegram message #${sentPlan.message_id}`);
    expect(await plan.locator(".said").innerText()).toBe(sentPlan.text);
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    const shown = await snapshot("dashboard-run-done.png");
    expect(shown).toContain("“beginner”");
    expect(shown).toContain("Ended done");
    expect(await page.locator(`.run-item[data-run-id="${run.id}"] .badge`).innerText()).toBe("done");
  });

  test("a journal with steps, their attempts, results and errors, a memory write, a sleep and a question with buttons", async () => {
    await say(users.ben, "plan my week");
    const run = await runOf(users.ben);
    await page.locator(`.run-item[data-run-id="${run.id}"]`).waitFor({ timeout: STEP_MS });
    await openRun(run.id);
    await page.locator("#timeline li.entry[data-kind='ask'] .delivery.sent").waitFor({ timeout: STEP_MS });
    const kinds = await entries().evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.kind));
    expect(kinds).toEqual(["trigger", "step", "step", "remember", "sleep", "ask"]);
    const [, forecast, booking, memory, sleep, question] = await entries().allInnerTexts();
    expect(forecast).toContain("Step “fetch the forecast”");
    expect(forecast).toContain("2 attempts");
    expect(forecast).toContain('"monday": "sunny"');
    expect(booking).toContain("failed");
    expect(booking).toContain("the track is closed this week");
    expect(booking).toContain("2 attempts, then gave up");
    expect(memory).toContain('"goal": "run a 10k"');
    expect(sleep).toMatch(/Slept 1 s · woke at \d\d:\d\d:\d\d/);
    expect(question).toContain("Buttons:");
    expect(await entries().last().locator(".chip").allInnerTexts()).toEqual(["Monday", "Friday"]);
    expect(question).toContain("Which day suits you?");
    await snapshot("dashboard-journal-kinds.png");
    if (!existsSync(DOCS_SCREENSHOT) || process.env.UPDATE_DOCS_SCREENSHOT === "1") await page.screenshot({ path: DOCS_SCREENSHOT, animations: "disabled", fullPage: true });
  });

  test("the pending questions list their deadlines; cancelling a run ends it and tells the user", async () => {
    const run = await runOf(users.ben);
    await page.click('.tab[data-tab="questions"]');
    const item = page.locator(`.question-item[data-run-id="${run.id}"]`);
    await item.waitFor({ timeout: STEP_MS });
    expect(await item.innerText()).toMatch(/Which day suits you\?[\s\S]*times out at .* \(in (1 d|23 h 59 min)\)/);
    await item.locator(`[data-cancel-run="${run.id}"]`).click();
    await item.locator(`[data-confirm-cancel="${run.id}"]`).click();
    await page.locator("#toast", { hasText: `Run #${run.id} is cancelled; the user is told.` }).waitFor({ timeout: STEP_MS });
    await page.locator("#question-list .empty", { hasText: "No question is waiting for an answer." }).waitFor({ timeout: STEP_MS });
    await waitFor(() => botMessages(users.ben).length === 2, "the cancellation notice in the chat");

    await page.click('.tab[data-tab="runs"]');
    await page.locator(".detail-head .badge", { hasText: "cancelled" }).waitFor({ timeout: STEP_MS });
    const notice = entries().filter({ hasText: "timbre told the user" });
    await notice.locator(".delivery.sent").waitFor({ timeout: STEP_MS });
    const told = botMessages(users.ben)[1]!;
    expect(await notice.innerText()).toContain(told.text);
    expect(await notice.innerText()).toContain(`Telegram message #${told.message_id}`);
    const shown = await snapshot("dashboard-run-cancelled.png");
    expect(shown).toContain("Cancelled with the run before an answer came.");
    expect(shown).toContain("Ended cancelled");
    expect(await page.locator("[data-cancel-run]").count()).toBe(0);
  });

  test("filters by status and conversation, and reads at 390 px wide", async () => {
    await page.click('.tab[data-tab="runs"]');
    await page.fill("#conversation-filter", String(users.ana.id));
    await page.press("#conversation-filter", "Enter");
    await waitFor(async () => (await page.locator(".run-item").count()) === 1, "only Ana's run", STEP_MS);
    expect(await page.locator(".run-item .conversation").allInnerTexts()).toEqual([`chat ${users.ana.id}`]);
    await page.selectOption("#status-filter", "waiting");
    await page.locator("#run-list .empty", { hasText: "No runs match these filters." }).waitFor({ timeout: STEP_MS });
    await page.click("#run-list .empty button");
    const all = service.runtime.list({ limit: 20 }).length;
    await waitFor(async () => (await page.locator(".run-item").count()) === all, "every run again", STEP_MS);

    // Narrow, a run's journal takes the whole width; "← Runs" goes back to the list.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.locator(".runs-pane").isHidden()).toBe(true);
    await page.click(".detail-head .back");
    const run = await runOf(users.ana);
    await openRun(run.id);
    await page.locator("#timeline").waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await page.locator(".runs-pane").isHidden()).toBe(true);
    const shown = await snapshot("dashboard-390px.png");
    expect(shown).toContain("← Runs");
    expect(shown).toContain("Ended done");
    await page.click('.tab[data-tab="failed"]');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.click('.tab[data-tab="runs"]');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test("signing out forgets the token and every datum shown", async () => {
    await page.click("#sign-out");
    await page.locator("#login").waitFor();
    expect(await page.locator(".run-item, .stat-card, #timeline, .failed-message").count()).toBe(0);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.reload();
    await page.locator("#token").waitFor();
    expect(await page.locator("#dashboard").isHidden()).toBe(true);
  });
});

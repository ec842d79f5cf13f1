/**
 * The operator's dashboard (/admin/ui) in a real browser (Debian chromium via playwright-core)
 * against the real service in sandbox mode: users talk to the coach through the sandbox, the
 * emulator's faults make Telegram refuse a message, and every step is checked on the page and
 * saved as a screenshot in test/artifacts/.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { coach } from "../../src/agents/coach.ts";
import { startService, type Service } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/observability/log.ts";
import type { Agent } from "../../src/runtime/context.ts";
import { ROOT, tempDir, waitFor } from "../helpers.ts";
import { artifactPath, hasChromium, launchBrowser, type LaunchedBrowser } from "./launch.ts";

/** The README's picture: written when missing, or refreshed with UPDATE_DOCS_SCREENSHOT=1 (it is committed). */
const DOCS_SCREENSHOT = join(ROOT, "docs", "dashboard.png");
const ADMIN_TOKEN = "dashboard-test-token_0123456789abcdef";
const STEP_MS = 15_000; // a poll every 2 s, and the outbox's pace

let crashOnPurpose = true;
/** The coach, plus one text that uses every journal kind and one that fails until told not to. */
const agent: Agent = Object.assign(
  async (ctx: Parameters<Agent>[0]) => {
    if (ctx.text === "plan my week") {
      let tries = 0;
      await ctx.step(
        "fetch the forecast",
        () => {
          if (++tries === 1) throw new Error("weather API timed out");
          return { monday: "sunny", friday: "rain" };
        },
        { retries: 2, backoffSeconds: 0.05 },
      );
      try {
        await ctx.step("book the track", () => Promise.reject(new Error("the track is closed this week")), { retries: 1, backoffSeconds: 0 });
      } catch {
        // no booking: the plan goes on without it
      }
      await ctx.remember({ goal: "run a 10k", booked: false });
      await ctx.sleep(1);
      await ctx.ask("Which day suits you?", { choices: ["Monday", "Friday"] });
      return;
    }
    if (ctx.text === "crash please") {
      if (crashOnPurpose) throw new Error("the agent crashed on purpose");
      await ctx.reply("recovered");
      return;
    }
    return coach(ctx);
  },
  { instantReply: coach.instantReply },
);

const users = {
  ana: { id: 7101, first_name: "Ana", language_code: "en" },
  ben: { id: 7102, first_name: "Ben", language_code: "en" },
  cy: { id: 7103, first_name: "Cy", language_code: "en" },
  dee: { id: 7104, first_name: "Dee", language_code: "en" },
};

const dir = tempDir();
let service: Service;
let browser: LaunchedBrowser;
let page: Page;

beforeAll(async () => {
  if (!hasChromium) return;
  const env = { DATABASE_PATH: `${dir.path}/timbre.db`, PORT: "0", HOST: "127.0.0.1", ADMIN_TOKEN, SEND_RATE_PER_CHAT: "20" };
  service = await startService(loadConfig(env), { logger: silentLogger, agent });
  browser = await launchBrowser();
  page = await browser.newPage();
  await page.setViewportSize({ width: 1280, height: 900 });
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  dir.cleanup();
});

/** A user writes in the sandbox, as the chat page does. */
async function say(user: (typeof users)[keyof typeof users], text: string): Promise<number> {
  const response = await fetch(`${service.url}/sandbox/send`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user, text }) });
  expect(response.status).toBe(200);
  return ((await response.json()) as { update_id: number }).update_id;
}

const botMessages = (user: { id: number }) => service.emulator!.sentTo(user.id);
const text = (selector: string) => page.locator(selector).innerText();
const entries = () => page.locator("#timeline > li.entry");

/** Saves the page as test/artifacts/NAME and returns the page's visible text at that moment. */
async function snapshot(name: string): Promise<string> {
  await page.screenshot({ path: artifactPath(name), animations: "disabled", fullPage: true });
  expect(existsSync(artifactPath(name))).toBe(true);
  return page.locator("body").innerText();
}

async function signIn(token: string): Promise<void> {
  await page.fill("#token", token);
  await page.click("#sign-in");
}

async function openRun(runId: number): Promise<void> {
  await page.locator(`.run-item[data-run-id="${runId}"]`).click();
  await page.locator(".detail-head h2", { hasText: `Run #${runId}` }).waitFor({ timeout: STEP_MS });
}

const runOf = async (user: { id: number; first_name: string }) => waitFor(() => service.runtime.list({ conversation: String(user.id), limit: 1 })[0], `a run for ${user.first_name}`);

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

describe.skipIf(!hasChromium)("the dashboard and the admin routes' brute-force limiter", () => {
  test("ten wrong tokens from the page lock the address out: even the right one then gets the 429's message, and no data", async () => {
    const other = await startService(loadConfig({ DATABASE_PATH: `${dir.path}/limited.db`, PORT: "0", HOST: "127.0.0.1", ADMIN_TOKEN }), { logger: silentLogger });
    const tab = await browser.newPage();
    try {
      await tab.goto(`${other.url}/admin/ui`);
      for (let attempt = 1; attempt <= 10; attempt++) {
        await tab.fill("#token", `wrong-${attempt}`);
        await tab.click("#sign-in");
        await tab.locator("#login-error", { hasText: "Wrong token" }).waitFor();
        await tab.evaluate(() => (document.getElementById("login-error")!.hidden = true));
      }
      await tab.fill("#token", ADMIN_TOKEN);
      await tab.click("#sign-in");
      const error = tab.locator("#login-error", { hasText: "Too many wrong admin tokens from this address" });
      await error.waitFor();
      expect(await error.innerText()).toMatch(/try again in \d+ s/);
      expect(await tab.locator("#dashboard").isHidden()).toBe(true);
      expect(await tab.evaluate(() => sessionStorage.length)).toBe(0);
      await tab.screenshot({ path: artifactPath("dashboard-locked-out.png"), fullPage: true });
    } finally {
      await tab.close();
      await other.stop();
    }
  });
});

/**
 * README "Operating a bot", 4: "The **Questions** tab lists every question waiting for an answer".
 * The tab was built from the newest 500 waiting runs, and waiting runs also sleep (ctx.sleep) or
 * wait out a step's backoff: with 500 newer runs asleep, a question asked before them was never
 * fetched and the tab said "No question is waiting for an answer.". It now reads only the runs
 * that ask (GET /admin/runs?asking=true) and counts the others in one line.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { hasChromium, launchBrowser, type LaunchedBrowser } from "./launch.ts";
import { signInAt } from "./dashboard-support.ts";
import { postUpdate, serviceRig, textUpdate, waitFor, type Service } from "../helpers.ts";

const ADMIN_TOKEN = "admin-token-for-the-questions-tab_0123456789";
const SLEEPERS = 500;
const QUESTION = "Which day suits you best for the long run?";
const rig = serviceRig();
let service: Service;
let browser: LaunchedBrowser | undefined;
let page: Page;

const stats = async () =>
  (await (await fetch(`${service.url}/admin/stats`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { runs: { waiting: number } };

beforeAll(async () => {
  if (!hasChromium) return;
  service = await rig.start({ ADMIN_TOKEN }, {
    agent: async (ctx) => {
      if (ctx.text === "ask") {
        await ctx.ask(QUESTION);
        return;
      }
      // A reminder bot: most runs sleep for an hour.
      await ctx.sleep(3600);
    },
  });
  // The question first (the oldest waiting run), then 500 sleeping runs in other chats.
  expect((await postUpdate(service.url, textUpdate({ id: 8000, first_name: "Q" }, "ask", 70_000))).status).toBe(200);
  await waitFor(async () => (await stats()).runs.waiting === 1, "the question to wait", 15_000);
  for (let i = 0; i < SLEEPERS; i += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, SLEEPERS - i) }, (_, j) => postUpdate(service.url, textUpdate({ id: 8001 + i + j, first_name: "S" }, "remind me", 70_001 + i + j))),
    );
  }
  await waitFor(async () => (await stats()).runs.waiting === SLEEPERS + 1, `${SLEEPERS + 1} waiting runs`, 60_000);
  browser = await launchBrowser();
  page = await browser.newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

describe.skipIf(!hasChromium)("the dashboard's Questions tab", () => {
  test("lists the waiting question even when 500 newer runs sleep", async () => {
    await signInAt(page, service.url, ADMIN_TOKEN);
    await page.locator("#live", { hasText: "live" }).waitFor({ timeout: 15_000 });
    await page.click('.tab[data-tab="questions"]');
    // Rendered from the waiting runs once their line about the sleeping ones shows.
    await page.locator("#question-list li.muted", { hasText: "ctx.sleep" }).waitFor({ timeout: 15_000 });
    const listed = await page.locator("#question-list").innerText();
    expect(listed).toContain(QUESTION);
    expect(listed).not.toContain("No question is waiting for an answer.");
    expect(listed).toContain(`${SLEEPERS} more waiting runs wait on ctx.sleep or a step's next attempt.`);
  }, 60_000);
});

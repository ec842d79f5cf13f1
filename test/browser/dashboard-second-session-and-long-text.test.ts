/**
 * The dashboard for a second session in the same tab, and for text it cannot break.
 * - Signing out and in again listed no question: signOut reset the shown counts without the
 *   Questions tab's, so it asked the API for NaN of them and called the question "1 more waiting
 *   run" (src/admin/ui/page.js; both now start from initialShown()).
 * - An answer with no spaces (a pasted link) ran out of the run pane: `.answer-text` had no
 *   overflow-wrap, unlike `.said` and `.error-text` (src/admin/ui/page.css).
 */
import { expect, test } from "bun:test";
import { coach, coachText } from "../../src/agents/coach.ts";
import { waitFor } from "../helpers.ts";
import { ADMIN_TOKEN, botMessages, dashboardRig, openRun, page, runOf, say, service, signIn, STEP_MS, users } from "./dashboard-support.ts";
import { hasChromium } from "./launch.ts";

dashboardRig(coach);

test.skipIf(!hasChromium)("the Questions tab still lists the pending question after signing out and in again", async () => {
  await say(users.ana, "hi");
  await waitFor(() => service.runtime.list({ conversation: String(users.ana.id), limit: 1 })[0]?.status === "waiting", "the coach to ask");

  await page.goto(`${service.url}/admin/ui`);
  await signIn(ADMIN_TOKEN);
  await page.click('.tab[data-tab="questions"]');
  await page.locator("#question-list .question-item", { hasText: coachText.en.goal }).waitFor({ timeout: STEP_MS });

  await page.click("#sign-out");
  await page.locator("#login").waitFor();
  await signIn(ADMIN_TOKEN);
  await page.locator("#live", { hasText: "live ·" }).waitFor({ timeout: STEP_MS });
  await page.click('.tab[data-tab="questions"]');
  // Let a couple of polls render.
  await Bun.sleep(4500);
  const listed = await page.locator("#question-list").innerText();
  expect(listed).toContain(coachText.en.goal);
  expect(listed).not.toContain("No question is waiting");
}, 60_000);

const LINK = `https://example.com/plan?id=${"Couch2FiveK".repeat(25)}`;

test.skipIf(!hasChromium)("a long answer without spaces wraps inside the run pane", async () => {
  await say(users.ben, "hi");
  await waitFor(() => botMessages(users.ben).length === 1, "the goal question");
  await say(users.ben, LINK);
  await waitFor(() => botMessages(users.ben)[1]?.text === coachText.en.days, "the days question");

  // Still signed in from the test above.
  await page.click('.tab[data-tab="runs"]');
  await openRun((await runOf(users.ben)).id);
  const answer = page.locator("#timeline .answer", { hasText: "Couch2FiveK" });
  await answer.waitFor({ timeout: STEP_MS });
  const sizes = await page.evaluate(() => {
    const pane = document.getElementById("run-detail")!;
    const answer = document.querySelector("#timeline .answer")!;
    const text = answer.querySelector(".answer-text")!.getBoundingClientRect();
    return { paneRight: pane.getBoundingClientRect().right, textRight: text.right, answerScroll: answer.scrollWidth, answerClient: answer.clientWidth, paneScroll: pane.scrollWidth, paneClient: pane.clientWidth };
  });
  // The answer's text ends inside the pane (it wraps), and the pane has nothing wider than itself.
  expect(sizes.textRight).toBeLessThanOrEqual(sizes.paneRight);
  expect(sizes.answerScroll).toBeLessThanOrEqual(sizes.answerClient);
  expect(sizes.paneScroll).toBeLessThanOrEqual(sizes.paneClient);
}, 60_000);

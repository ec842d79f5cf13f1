/**
 * Signing out and in again while the previous session's poll still waits for an answer (a slow
 * link): the new session's first poll, asked for meanwhile, runs once the old one ends (it used
 * to be dropped with the stale session, and the dashboard never polled again).
 */
import { expect, test } from "bun:test";
import type { Route } from "playwright-core";
import { coach } from "../../src/agents/coach.ts";
import { waitFor } from "../helpers.ts";
import { ADMIN_TOKEN, dashboardRig, page, say, service, signIn, STEP_MS, users } from "./dashboard-support.ts";
import { hasChromium } from "./launch.ts";

dashboardRig(coach);

test.skipIf(!hasChromium)("after signing out and in during a slow poll, the dashboard still refreshes live", async () => {
  await page.goto(`${service.url}/admin/ui`);
  await signIn(ADMIN_TOKEN);
  await page.locator("#live", { hasText: "live ·" }).waitFor({ timeout: STEP_MS });

  // The next poll's failed-messages request is held, as on a slow link.
  const held: Route[] = [];
  let holding = true;
  await page.route("**/admin/outbox?*", (route) => (holding ? void held.push(route) : route.continue()));
  await waitFor(() => held.length > 0, "a poll in flight", STEP_MS);

  await page.click("#sign-out");
  await page.locator("#login").waitFor();
  await signIn(ADMIN_TOKEN);
  await page.locator("#dashboard").waitFor();
  holding = false;
  for (const route of held) await route.continue();

  // A user writes: the counts must follow (polls every 2 s).
  await say(users.ana, "hi");
  await waitFor(() => service.runtime.list({ conversation: String(users.ana.id), limit: 1 })[0]?.status === "waiting", "the coach's run to wait");
  const count = () => page.evaluate(() => [document.querySelector('[data-count="runs.waiting"]')?.textContent ?? null, document.getElementById("live")!.textContent]);
  await waitFor(async () => (await count())[0] === "1", `the dashboard to show the waiting run (it shows ${JSON.stringify(await count())})`, STEP_MS);
  expect(await page.locator("#live").textContent()).toStartWith("live ·");
}, 60_000);

/**
 * What the dashboard's browser tests share: the coach with two texts of its own, the users who
 * talk to it through the sandbox, the service in sandbox mode, Chromium with one page, and the
 * steps an operator takes on that page.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { existsSync } from "node:fs";
import type { Page } from "playwright-core";
import { coach } from "../../src/agents/coach.ts";
import { startService, type Service } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/observability/log.ts";
import type { Agent } from "../../src/runtime/context.ts";
import { tempDir, waitFor } from "../helpers.ts";
import { artifactPath, hasChromium, launchBrowser, type LaunchedBrowser } from "./launch.ts";

export const ADMIN_TOKEN = "dashboard-test-token_0123456789abcdef";
export const STEP_MS = 15_000; // a poll every 2 s, and the outbox's pace

/** The coach, plus one text that uses every journal kind and one that fails while `crashOnPurpose()` says so. */
export function dashboardAgent(crashOnPurpose: () => boolean = () => true): Agent {
  // Outside the agent function: each attempt after a backoff comes from a fresh execution of it.
  let tries = 0;
  return Object.assign(
    async (ctx: Parameters<Agent>[0]) => {
      if (ctx.text === "plan my week") {
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
        if (crashOnPurpose()) throw new Error("the agent crashed on purpose");
        await ctx.reply("recovered");
        return;
      }
      return coach(ctx);
    },
    { instantReply: coach.instantReply },
  );
}

export const users = {
  ana: { id: 7101, first_name: "Ana", language_code: "en" },
  ben: { id: 7102, first_name: "Ben", language_code: "en" },
  cy: { id: 7103, first_name: "Cy", language_code: "en" },
  dee: { id: 7104, first_name: "Dee", language_code: "en" },
};

/** The temp folder, service, browser and page of the test file that called dashboardRig. */
export let dir: { path: string; cleanup(): void };
export let service: Service;
export let browser: LaunchedBrowser;
export let page: Page;

/**
 * For one test file, when there is Chromium: the service in sandbox mode on `agent` (none
 * without one) and a 1280x900 page, before its tests; all closed and removed after them.
 */
export function dashboardRig(agent?: Agent): void {
  const folder = (dir = tempDir());
  let started: Service | undefined;
  let launched: LaunchedBrowser | undefined;
  beforeAll(async () => {
    if (!hasChromium) return;
    if (agent) {
      const env = { DATABASE_PATH: `${folder.path}/timbre.db`, PORT: "0", HOST: "127.0.0.1", ADMIN_TOKEN, SEND_RATE_PER_CHAT: "20" };
      service = started = await startService(loadConfig(env), { logger: silentLogger, agent });
    }
    browser = launched = await launchBrowser();
    page = await browser.newPage();
    await page.setViewportSize({ width: 1280, height: 900 });
  });
  afterAll(async () => {
    await launched?.close();
    await started?.stop();
    folder.cleanup();
  });
}

/** A user writes in the sandbox, as the chat page does. */
export async function say(user: (typeof users)[keyof typeof users], text: string): Promise<number> {
  const response = await fetch(`${service.url}/sandbox/send`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user, text }) });
  expect(response.status).toBe(200);
  return ((await response.json()) as { update_id: number }).update_id;
}

export const botMessages = (user: { id: number }) => service.emulator!.sentTo(user.id);
export const text = (selector: string) => page.locator(selector).innerText();
export const entries = () => page.locator("#timeline > li.entry");

/** Saves the page as test/artifacts/NAME and returns the page's visible text at that moment. */
export async function snapshot(name: string): Promise<string> {
  await page.screenshot({ path: artifactPath(name), animations: "disabled", fullPage: true });
  expect(existsSync(artifactPath(name))).toBe(true);
  return page.locator("body").innerText();
}

export async function signIn(token: string): Promise<void> {
  await page.fill("#token", token);
  await page.click("#sign-in");
}

/** For a test with its own service and page: opens the dashboard of the service at `url` and signs in with `token`. */
export async function signInAt(tab: Page, url: string, token: string): Promise<void> {
  await tab.goto(`${url}/admin/ui`);
  await tab.fill("#token", token);
  await tab.click("#sign-in");
}

export async function openRun(runId: number): Promise<void> {
  await page.locator(`.run-item[data-run-id="${runId}"]`).click();
  await page.locator(".detail-head h2", { hasText: `Run #${runId}` }).waitFor({ timeout: STEP_MS });
}

export const runOf = async (user: { id: number; first_name: string }) => waitFor(() => service.runtime.list({ conversation: String(user.id), limit: 1 })[0], `a run for ${user.first_name}`);

/**
 * The sandbox page across crashes, in real Chromium: the sandbox is a real `bun src/main.ts`
 * process without a token, killed with `kill -9` and started again on the same database and
 * port. The open page reconnects by itself, shows every message without a reload, and the run
 * that waited takes the very next answer (typed, then a button tapped after a second crash).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { coachText } from "../../src/agents/coach.ts";
import { spawnService, tempDir, waitFor, type SpawnedService } from "../helpers.ts";
import { artifactPath, hasChromium, launchBrowser, type LaunchedBrowser } from "./launch.ts";

const STEP_MS = 15_000;
const dir = tempDir();
const databasePath = `${dir.path}/timbre.db`;
const children: SpawnedService[] = [];
let browser: LaunchedBrowser;
let page: Page;

beforeAll(async () => {
  if (!hasChromium) return;
  browser = await launchBrowser();
  page = await browser.newPage();
  await page.setViewportSize({ width: 1100, height: 820 });
});

afterAll(async () => {
  await browser?.close();
  for (const child of children) if (child.proc.exitCode === null) await child.kill9();
  dir.cleanup();
});

/** The sandbox as a person starts it (no token), on `port` (0: a free one). */
async function startSandbox(port: number): Promise<SpawnedService> {
  const env = { DATABASE_PATH: databasePath, HOST: "127.0.0.1", PORT: String(port), SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" };
  const child = await spawnService(env);
  children.push(child);
  return child;
}

const bubbleTexts = (side: "user" | "bot") => page.locator(`#messages .bubble.${side} .text`).allTextContents();

/** The page's chat as it shows it: every bubble, in order, as "side: text". */
async function shownLines(): Promise<string[]> {
  return page.locator("#messages .bubble").evaluateAll((nodes) => nodes.map((node) => `${node.classList.contains("user") ? "user" : "bot"}: ${node.querySelector(".text")?.textContent ?? ""}`));
}

async function say(text: string, botCount: number): Promise<string> {
  await page.fill("#input", text);
  await page.press("#input", "Enter");
  await page.locator("#messages .bubble.user .text", { hasText: text }).last().waitFor({ timeout: STEP_MS });
  await page.locator("#messages .bubble.bot").nth(botCount - 1).waitFor({ timeout: STEP_MS });
  return (await bubbleTexts("bot"))[botCount - 1]!;
}

/** Saves a screenshot to test/artifacts and checks that the page shows exactly `lines` while it is taken. */
async function screenshotShowing(name: string, lines: string[]): Promise<void> {
  await page.screenshot({ path: artifactPath(name), animations: "disabled" });
  expect(await shownLines()).toEqual(lines);
}

/** kill -9, then the page says it lost the server; a new process on the same port and database; the page is back by itself. */
async function crashAndRestart(child: SpawnedService): Promise<SpawnedService> {
  const port = Number(new URL(child.url).port);
  await child.kill9();
  await page.locator("#connection", { hasText: "reconnecting…" }).waitFor({ timeout: STEP_MS });
  // The port is free again as soon as the kernel has closed the dead process's socket.
  const next = await waitFor(() => startSandbox(port), `a sandbox on port ${port} again`, 20_000, 200);
  await page.locator("#connection", { hasText: "online" }).waitFor({ timeout: STEP_MS });
  return next;
}

const en = coachText.en;

test.skipIf(!hasChromium)("kill -9 twice while the coach waits: the open page reconnects with every message, and the run takes the next answer and then a tapped button", async () => {
  let sandbox = await startSandbox(0);
  await page.goto(`${sandbox.url}/sandbox`);
  await page.locator("#connection", { hasText: "online" }).waitFor();
  await page.click("#new-user");
  await page.fill("#user-name", "Ana");
  await page.click("#create-user");
  await page.locator("#chat-name", { hasText: "Ana" }).waitFor();

  expect(await say("hi", 1)).toBe(en.goal);
  expect(await say("run a 10k", 2)).toBe(en.days);
  await page.locator("#waiting").waitFor({ state: "visible" });
  const beforeCrash = ["user: hi", `bot: ${en.goal}`, "user: run a 10k", `bot: ${en.days}`];
  await screenshotShowing("sandbox-restart-1-before-kill.png", beforeCrash);
  // Set on this very document: still there after the restart means the page was never reloaded.
  await page.evaluate(() => Object.assign(window, { sameDocument: true }));

  sandbox = await crashAndRestart(sandbox);
  await waitFor(async () => JSON.stringify(await shownLines()) === JSON.stringify(beforeCrash), "every message after the restart");
  await page.locator("#waiting").waitFor({ state: "visible" });
  expect(await page.locator("#chat-status").textContent()).toBe("waiting for your answer");
  expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
  await screenshotShowing("sandbox-restart-2-after-kill.png", beforeCrash);

  // The very next answer is taken: the coach goes on to the level, with its buttons.
  expect(await say("3", 3)).toBe(en.level);
  const buttons = page.locator("#messages .with-keyboard").last().locator(".key");
  await buttons.first().waitFor();
  expect(await buttons.allTextContents()).toEqual(["Beginner", "Intermediate", "Advanced"]);

  // A second crash between the question and the tap: the button still answers it.
  sandbox = await crashAndRestart(sandbox);
  const withLevel = [...beforeCrash, "user: 3", `bot: ${en.level}`];
  await waitFor(async () => JSON.stringify(await shownLines()) === JSON.stringify(withLevel), "the level question after the second restart");
  await page.locator("#messages .key", { hasText: "Intermediate" }).click();
  await page.locator("#messages .key", { hasText: "✓ Intermediate" }).waitFor({ timeout: STEP_MS });
  await page.locator("#messages .bubble.bot").nth(3).waitFor({ timeout: STEP_MS });
  await page.locator("#waiting").waitFor({ state: "hidden" });
  expect(await buttons.allTextContents()).toEqual(["✓ Intermediate"]);
  const plan = (await bubbleTexts("bot"))[3]!;
  expect(plan).toStartWith("Your 3-day-a-week plan (intermediate) for: run a 10k");
  const everything = [...withLevel, `bot: ${plan}`];
  await screenshotShowing("sandbox-restart-3-plan.png", everything);
  expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);

  // A page opened now gets the whole chat from the server, marked keyboard included.
  const fresh = await browser.newPage();
  await fresh.goto(`${sandbox.url}/sandbox`);
  await fresh.locator("#chat-name", { hasText: "Ana" }).waitFor();
  await fresh.locator("#messages .key", { hasText: "✓ Intermediate" }).waitFor();
  const freshLines = await fresh.locator("#messages .bubble").evaluateAll((nodes) => nodes.map((node) => `${node.classList.contains("user") ? "user" : "bot"}: ${node.querySelector(".text")?.textContent ?? ""}`));
  expect(freshLines).toEqual(everything);
  await fresh.close();
  expect(await sandbox.terminate()).toBe(0);
}, 120_000);

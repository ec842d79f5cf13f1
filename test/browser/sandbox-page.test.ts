/**
 * The sandbox page with another agent and on a phone, in real Chromium: the hint names the
 * running agent (here AGENT=echo, in both languages), a user is removed from the page and from
 * the server, and at 390 px the conversation and its composer fit (no placeholder cut off).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { startService, type Service } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/observability/log.ts";
import { tempDir, waitFor } from "../helpers.ts";
import { artifactPath, hasChromium, launchBrowser, type LaunchedBrowser } from "./launch.ts";

const STEP_MS = 15_000;
const dir = tempDir();
let service: Service;
let browser: LaunchedBrowser;
let page: Page;

beforeAll(async () => {
  if (!hasChromium) return;
  service = await startService(loadConfig({ DATABASE_PATH: `${dir.path}/timbre.db`, PORT: "0", HOST: "127.0.0.1", AGENT: "echo", SEND_RATE_PER_CHAT: "1000" }), { logger: silentLogger });
  browser = await launchBrowser();
  page = await browser.newPage();
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  dir.cleanup();
});

/** Opens the page at this size (each test stands alone). */
async function open(width: number, height: number): Promise<void> {
  await page.setViewportSize({ width, height });
  await page.goto(`${service.url}/sandbox`);
  // At 390 px the connection line is hidden with the sidebar's text; its text still says it.
  await waitFor(async () => (await page.locator("#connection").textContent())?.startsWith("online"), "the page to connect");
}

async function createUser(name: string, language: "en" | "es"): Promise<number> {
  await page.click("#new-user");
  await page.fill("#user-name", name);
  await page.check(`#user-dialog input[value="${language}"]`);
  await page.click("#create-user");
  await page.locator("#chat-name", { hasText: name }).waitFor();
  return Number(await page.locator(".chat-item.active").getAttribute("data-chat-id"));
}

async function say(text: string, botCount: number): Promise<string> {
  await page.fill("#input", text);
  await page.press("#input", "Enter");
  await page.locator("#messages .bubble.bot").nth(botCount - 1).waitFor({ timeout: STEP_MS });
  return (await page.locator("#messages .bubble.bot .text").allTextContents())[botCount - 1]!;
}

async function historyChatIds(): Promise<number[]> {
  const history = (await (await fetch(`${service.url}/sandbox/history`)).json()) as { chats: { chat_id: number }[] };
  return history.chats.map((c) => c.chat_id);
}

test.skipIf(!hasChromium)("with AGENT=echo the hint describes the echo agent, not the coach, in the user's language", async () => {
  await open(1100, 760);
  await createUser("Eve", "en");
  const hint = await page.locator("#messages .hint").textContent();
  expect(hint).toBe("Write anything: the echo agent repeats each message.");
  expect(hint).not.toContain("coach");
  expect(await say("hello there", 1)).toBe("hello there");

  await createUser("Elena", "es");
  expect(await page.locator("#messages .hint").textContent()).toBe("Escribe lo que quieras: el agente echo repite cada mensaje.");
});

test.skipIf(!hasChromium)("a user is removed from the page and from the server, and stays removed after a reload", async () => {
  await open(1100, 760);
  const gus = await createUser("Gus", "en");
  expect(await say("remember me", 1)).toBe("remember me");
  expect(await historyChatIds()).toContain(gus);

  await page.click("#remove-user");
  await page.locator("#remove-dialog", { hasText: "Remove Gus?" }).waitFor();
  // Cancel keeps him.
  await page.click("#remove-cancel");
  expect(await page.locator(`.chat-item[data-chat-id="${gus}"]`).count()).toBe(1);

  await page.click("#remove-user");
  await page.click("#remove-confirm");
  await page.locator(`.chat-item[data-chat-id="${gus}"]`).waitFor({ state: "detached" });
  expect(await page.locator("#empty").isVisible()).toBe(true);
  expect(await historyChatIds()).not.toContain(gus);
  expect(service.emulator!.userMessages.some((m) => m.chat_id === gus)).toBe(false);

  await page.reload();
  await page.locator("#connection", { hasText: "online" }).waitFor();
  await waitFor(async () => (await page.locator(".chat-item").count()) === 2, "the two other users after a reload");
  expect(await page.locator(`.chat-item[data-chat-id="${gus}"]`).count()).toBe(0);
  await page.screenshot({ path: artifactPath("sandbox-removed.png"), animations: "disabled" });
});

test.skipIf(!hasChromium)("at 390 px the chat, its composer and the placeholder fit, in English and in Spanish", async () => {
  await open(390, 844);
  for (const [name, language, placeholder] of [
    ["Hana", "en", "Message"],
    ["Inés", "es", "Mensaje"],
  ] as const) {
    await createUser(name, language);
    expect(await page.locator("#input").getAttribute("placeholder")).toBe(placeholder);
    expect(await say(`${name} here`, 1)).toBe(`${name} here`);
    // The whole composer is on screen, and its text box shows the longest placeholder it gets ("Your answer…").
    for (const id of ["#cancel", "#input", "#send"]) {
      const box = (await page.locator(id).boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(390);
    }
    const fits = await page.locator("#input").evaluate((input: HTMLTextAreaElement, language) => {
      const style = getComputedStyle(input);
      const context = document.createElement("canvas").getContext("2d")!;
      context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
      const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      const longest = language === "es" ? "Tu respuesta…" : "Your answer…";
      return { room, needed: context.measureText(longest).width };
    }, language);
    expect(fits.needed).toBeLessThan(fits.room);
    const bubble = (await page.locator("#messages .bubble.bot").last().boundingBox())!;
    expect(bubble.x + bubble.width).toBeLessThanOrEqual(390);
  }
  // In the narrow sidebar the users are still there to switch between.
  expect(await page.locator(".chat-item").count()).toBeGreaterThanOrEqual(2);
  expect(await page.locator(".chat-item .avatar").first().isVisible()).toBe(true);
  await page.screenshot({ path: artifactPath("sandbox-390.png"), animations: "disabled" });
});

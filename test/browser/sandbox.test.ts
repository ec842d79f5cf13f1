/**
 * The sandbox chat page in a real browser (Debian chromium via playwright-core): two users,
 * one English and one Spanish, complete a coach conversation against the real service, with
 * the level buttons; the Spanish user's chat speaks Spanish; the waiting dot and the unread
 * badge show together.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { startService, type Service } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/observability/log.ts";
import { ROOT, tempDir, waitFor } from "../helpers.ts";
import { artifactPath, hasChromium, launchBrowser, type LaunchedBrowser } from "./launch.ts";

/** The README's picture: written when missing, or refreshed with UPDATE_DOCS_SCREENSHOT=1 (it is committed). */
const DOCS_SCREENSHOT = join(ROOT, "docs", "sandbox.png");
const STEP_MS = 15_000; // the outbox sends at most 1 message/s per chat by default

const dir = tempDir();
let service: Service;
let browser: LaunchedBrowser;
let page: Page;
/** The users' chat ids, as the page generated them. */
const chat = { ana: 0, lucia: 0 };

beforeAll(async () => {
  if (!hasChromium) return;
  service = await startService(loadConfig({ DATABASE_PATH: `${dir.path}/timbre.db`, PORT: "0", HOST: "127.0.0.1" }), { logger: silentLogger });
  browser = await launchBrowser();
  page = await browser.newPage();
  await page.setViewportSize({ width: 1280, height: 800 });
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  dir.cleanup();
});

async function createUser(name: string, language: "en" | "es"): Promise<number> {
  await page.click("#new-user");
  await page.fill("#user-name", name);
  await page.check(`#user-dialog input[value="${language}"]`);
  await page.click("#create-user");
  await page.locator("#chat-name", { hasText: name }).waitFor();
  const id = await page.locator(".chat-item.active").getAttribute("data-chat-id");
  return Number(id);
}

const botTexts = () => page.locator("#messages .bubble.bot .text").allTextContents();

/** Types an answer, presses Enter, and waits for the bot's next message (number `botCount`). */
async function say(text: string, botCount: number): Promise<string> {
  await page.fill("#input", text);
  await page.press("#input", "Enter");
  await page.locator("#messages .bubble.user .text", { hasText: text }).last().waitFor({ timeout: STEP_MS });
  await page.locator("#messages .bubble.bot").nth(botCount - 1).waitFor({ timeout: STEP_MS });
  return (await botTexts())[botCount - 1]!;
}

async function select(chatId: number, name: string): Promise<void> {
  await page.click(`.chat-item[data-chat-id="${chatId}"]`);
  await page.locator("#chat-name", { hasText: name }).waitFor();
}

const lines = (plan: string, prefix: string) => plan.split("\n").filter((line) => line.startsWith(prefix));

/** Sends `text` as a user from elsewhere (another tab, a script): the page only sees what the server pushes. */
async function sendFromElsewhere(user: { id: number; first_name: string; language_code: string }, text: string): Promise<void> {
  const answer = await fetch(`${service.url}/sandbox/send`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user, text }) });
  expect(answer.status).toBe(200);
}

/** Taps the button labelled `label` of the last keyboard shown, and waits until it is marked as the choice. */
async function tap(label: string): Promise<void> {
  await page.locator("#messages .with-keyboard").last().locator(".key", { hasText: label }).click();
  await page.locator("#messages .with-keyboard").last().locator(".key", { hasText: `✓ ${label}` }).waitFor({ timeout: STEP_MS });
}

const keysOfLastKeyboard = () => page.locator("#messages .with-keyboard").last().locator(".key").allTextContents();

test.skipIf(!hasChromium)("two users, in English and in Spanish, get their training plans through the chat page, tapping the level buttons", async () => {
  await page.goto(`${service.url}/sandbox`);
  await page.locator("#connection", { hasText: "online" }).waitFor();
  expect(await page.locator("#empty").isVisible()).toBe(true);

  // Ana, in English: the hint describes the coach, the running agent.
  const ana = (chat.ana = await createUser("Ana", "en"));
  expect(await page.locator("#messages .hint").textContent()).toStartWith("Say hi to start. The coach, the default agent, asks your goal");
  expect(await page.locator("html").getAttribute("lang")).toBe("en");
  expect(await say("hi", 1)).toContain("training goal");
  await page.locator("#waiting").waitFor({ state: "visible" });
  expect(await page.locator(`.chat-item[data-chat-id="${ana}"]`).getAttribute("data-waiting")).toBe("true");
  expect(await page.locator("#chat-status").textContent()).toBe("waiting for your answer");
  expect(await page.locator("#input").getAttribute("placeholder")).toBe("Your answer…");
  expect(await say("run a 10k", 2)).toContain("days per week");

  // Lucía, created as Español: the page's own strings for her chat are Spanish.
  const lucia = (chat.lucia = await createUser("Lucía", "es"));
  expect(lucia).not.toBe(ana);
  expect(await page.locator("html").getAttribute("lang")).toBe("es");
  expect(await page.locator("#messages .hint").textContent()).toStartWith("Saluda para empezar. El entrenador, el agente por defecto");
  expect(await page.locator("#chat-status").textContent()).toBe("chat privado con el bot · Español");
  expect(await page.locator("#input").getAttribute("placeholder")).toBe("Mensaje");
  expect(await page.locator("#remove-user").getAttribute("title")).toBe("Eliminar a Lucía");
  expect(await page.locator(`.chat-item[data-chat-id="${lucia}"] .preview`).textContent()).toBe("sin mensajes todavía");

  // Ana answers from elsewhere while Lucía's chat is open: her next question arrives unread, and
  // her chat shows the unread badge and the waiting dot, both at once.
  await sendFromElsewhere({ id: ana, first_name: "Ana", language_code: "en" }, "3");
  const anaItem = page.locator(`.chat-item[data-chat-id="${ana}"]`);
  await anaItem.locator(".badge", { hasText: "1" }).waitFor({ timeout: STEP_MS });
  await waitFor(async () => (await anaItem.getAttribute("data-waiting")) === "true" && (await anaItem.locator(".preview").textContent())?.includes("beginner, intermediate or advanced"), "Ana's level question in the sidebar");
  expect(await anaItem.locator(".waiting-dot").isVisible()).toBe(true);
  expect(await anaItem.locator(".badge").isVisible()).toBe(true);
  const [dot, badge] = [(await anaItem.locator(".waiting-dot").boundingBox())!, (await anaItem.locator(".badge").boundingBox())!];
  expect(dot.x + dot.width <= badge.x || badge.x + badge.width <= dot.x).toBe(true); // side by side, neither hides the other
  expect(await page.locator("#messages .hint").isVisible()).toBe(true); // Lucía's chat is still empty

  // Lucía, in Spanish, up to her level question with its buttons.
  expect(await say("hola", 1)).toContain("objetivo");
  expect(await page.locator("#waiting").textContent()).toContain("El bot espera tu respuesta");
  expect(await page.locator("#chat-status").textContent()).toBe("esperando tu respuesta");
  expect(await page.locator("#input").getAttribute("placeholder")).toBe("Tu respuesta…");
  expect(await say("correr 10 km", 2)).toContain("días por semana");
  expect(await say("3 días", 3)).toContain("principiante, intermedio o avanzado");
  expect(await keysOfLastKeyboard()).toEqual(["Principiante", "Intermedio", "Avanzado"]);

  // Back to Ana: the badge clears; she taps her level and the choice is marked, then her plan arrives.
  await select(ana, "Ana");
  expect(await anaItem.locator(".badge").count()).toBe(0);
  expect(await keysOfLastKeyboard()).toEqual(["Beginner", "Intermediate", "Advanced"]);
  await tap("Beginner");
  expect(await keysOfLastKeyboard()).toEqual(["✓ Beginner"]);
  await page.locator("#messages .bubble.bot").nth(3).waitFor({ timeout: STEP_MS });
  const anaTexts = await botTexts();
  expect(anaTexts).toHaveLength(4);
  const anaPlan = anaTexts[3]!;
  expect(lines(anaPlan, "Day ")).toHaveLength(3);
  expect(anaPlan).toStartWith("Your 3-day-a-week plan (beginner) for: run a 10k");
  await page.locator("#waiting").waitFor({ state: "hidden" });
  expect(await page.locator("#messages .bubble.user .text").allTextContents()).toEqual(["hi", "run a 10k", "3"]);
  expect(await page.locator(`.chat-item[data-chat-id="${lucia}"]`).getAttribute("data-waiting")).toBe("true");
  await page.screenshot({ path: artifactPath("sandbox-plan.png"), animations: "disabled" });
  if (!existsSync(DOCS_SCREENSHOT) || process.env.UPDATE_DOCS_SCREENSHOT === "1") {
    await page.screenshot({ path: DOCS_SCREENSHOT, animations: "disabled" });
  }

  // Lucía taps her level, and her plan is in Spanish.
  await select(lucia, "Lucía");
  await page.locator("#waiting").waitFor({ state: "visible" });
  await tap("Principiante");
  await page.locator("#messages .bubble.bot").nth(3).waitFor({ timeout: STEP_MS });
  const luciaPlan = (await botTexts())[3]!;
  expect(lines(luciaPlan, "Día ")).toHaveLength(3);
  expect(luciaPlan).toContain("correr 10 km");
  await page.locator("#waiting").waitFor({ state: "hidden" });

  // A reload rebuilds both chats from the server's history, marked choices included.
  await page.reload();
  await page.locator("#connection", { hasText: "online" }).waitFor();
  await page.locator("#chat-name", { hasText: "Lucía" }).waitFor();
  await waitFor(async () => (await botTexts()).length === 4, "Lucía's messages after a reload");
  expect(lines((await botTexts())[3]!, "Día ")).toHaveLength(3);
  expect(await keysOfLastKeyboard()).toEqual(["✓ Principiante"]);
  expect(await page.locator(".chat-item").count()).toBe(2);
  await select(ana, "Ana");
  expect(await page.locator("#messages .bubble.user .text").allTextContents()).toEqual(["hi", "run a 10k", "3"]);
  expect(await keysOfLastKeyboard()).toEqual(["✓ Beginner"]);
}, 90_000);

test.skipIf(!hasChromium)("typing… shows when the bot sends a chat action and goes when its message arrives; /cancel is one click", async () => {
  const { ana } = chat;
  await select(ana, "Ana");
  const action = await fetch(`${service.url}/sandbox/api/bot${service.emulator!.token}/sendChatAction`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ chat_id: ana, action: "typing" }),
  });
  expect(action.ok).toBe(true);
  await page.locator("#chat-status", { hasText: "typing…" }).waitFor();
  await page.locator(`.chat-item[data-chat-id="${ana}"] .preview .typing`).waitFor();

  const before = (await botTexts()).length;
  await page.click("#cancel");
  await page.locator("#messages .bubble.user .text", { hasText: "/cancel" }).waitFor();
  await page.locator("#messages .bubble.bot").nth(before).waitFor({ timeout: STEP_MS });
  expect((await botTexts())[before]).toBe("There is nothing to cancel.");
  await page.locator("#chat-status", { hasText: "typing…" }).waitFor({ state: "detached" });

  await page.screenshot({ path: artifactPath("sandbox.png"), animations: "disabled" });
  expect(existsSync(artifactPath("sandbox.png"))).toBe(true);
}, 30_000);

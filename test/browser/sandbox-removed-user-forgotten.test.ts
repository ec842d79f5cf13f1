/**
 * README, Sandbox: "**Removing a user** (the bin in the chat's header) deletes their chat and its
 * history from the page and from the sandbox's tables".
 *
 * After removing a user with the bin, the sandbox's tables (`sandbox_chats`, `sandbox_messages`,
 * `sandbox_updates`) should hold nothing of their chat but the marker that the id was removed.
 * SandboxStore.removeUser (src/sandbox/store.ts) deletes the messages and nulls `user`, but on
 * conflict it leaves the `chat` column as it was: the chat object with the user's first_name
 * stays in `sandbox_chats`.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import type { Page } from "playwright-core";
import { startService, type Service } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/observability/log.ts";
import { tempDir, waitFor } from "../helpers.ts";
import { hasChromium, launchBrowser, type LaunchedBrowser } from "./launch.ts";

const dir = tempDir();
const databasePath = `${dir.path}/timbre.db`;
const NAME = "Zebulon";
let service: Service;
let browser: LaunchedBrowser;
let page: Page;

beforeAll(async () => {
  if (!hasChromium) return;
  service = await startService(loadConfig({ DATABASE_PATH: databasePath, PORT: "0", HOST: "127.0.0.1", AGENT: "echo", SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }), {
    logger: silentLogger,
  });
  browser = await launchBrowser();
  page = await browser.newPage();
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  dir.cleanup();
});

/** Every row of the sandbox's tables that mentions `needle` anywhere, as "table: row". */
function sandboxRowsMentioning(needle: string): string[] {
  const db = new Database(databasePath, { readonly: true });
  try {
    const found: string[] = [];
    for (const table of ["sandbox_chats", "sandbox_messages", "sandbox_updates"]) {
      for (const row of db.query(`SELECT * FROM ${table}`).all() as Record<string, unknown>[]) {
        const text = JSON.stringify(row);
        if (text.includes(needle)) found.push(`${table}: ${text}`);
      }
    }
    return found;
  } finally {
    db.close();
  }
}

test.skipIf(!hasChromium)("after the bin removes a user, the sandbox's tables no longer hold their chat", async () => {
  await page.goto(`${service.url}/sandbox`);
  await page.locator("#connection", { hasText: "online" }).waitFor();
  await page.click("#new-user");
  await page.fill("#user-name", NAME);
  await page.click("#create-user");
  await page.locator("#chat-name", { hasText: NAME }).waitFor();
  const id = Number(await page.locator(".chat-item.active").getAttribute("data-chat-id"));
  await page.fill("#input", "hello from me");
  await page.press("#input", "Enter");
  await page.locator("#messages .bubble.bot .text", { hasText: "hello from me" }).waitFor({ timeout: 15_000 });
  // Everything delivered: no pending update holds the text any more.
  await waitFor(() => service.emulator!.pendingUpdates() === 0, "the updates delivered");
  expect(sandboxRowsMentioning(NAME).length).toBeGreaterThan(0);

  await page.click("#remove-user");
  await page.click("#remove-confirm");
  await page.locator(`.chat-item[data-chat-id="${id}"]`).waitFor({ state: "detached" });
  expect(sandboxRowsMentioning("hello from me")).toEqual([]);
  // Their chat is deleted from the sandbox's tables: nothing there still names them.
  expect(sandboxRowsMentioning(NAME)).toEqual([]);
}, 60_000);

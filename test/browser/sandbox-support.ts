/** What the sandbox page tests share: the sandbox service in process with a browser page, and a chat with a new user opened on it. */
import { afterAll, beforeAll } from "bun:test";
import type { Page } from "playwright-core";
import { startService, type Service } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/observability/log.ts";
import { tempDir } from "../helpers.ts";
import { hasChromium, launchBrowser, type LaunchedBrowser } from "./launch.ts";

export interface SandboxPage {
  /** The folder the database lives in (removed after the file's tests). */
  dir: string;
  databasePath: string;
  readonly service: Service;
  readonly page: Page;
}

/**
 * A sandbox (no token) with `env` on a fresh database, and a browser page; started before the
 * file's tests, stopped after. `env` may be made in the folder first (an agent module written there).
 */
export function sandboxWithPage(env: Record<string, string> | ((dir: string) => Record<string, string>) = {}): SandboxPage {
  const dir = tempDir();
  const databasePath = `${dir.path}/timbre.db`;
  let service: Service | undefined;
  let browser: LaunchedBrowser | undefined;
  let page: Page | undefined;
  beforeAll(async () => {
    if (!hasChromium) return;
    const extra = typeof env === "function" ? env(dir.path) : env;
    service = await startService(loadConfig({ DATABASE_PATH: databasePath, PORT: "0", HOST: "127.0.0.1", ...extra }), { logger: silentLogger });
    browser = await launchBrowser();
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    dir.cleanup();
  });
  return {
    dir: dir.path,
    databasePath,
    get service() {
      return service!;
    },
    get page() {
      return page!;
    },
  };
}

/** Opens the sandbox page, waits until it is online, and creates a user named `name`, whose chat is then the open one. */
export async function openChatWithNewUser(sandbox: SandboxPage, name: string): Promise<void> {
  const { page } = sandbox;
  await page.goto(`${sandbox.service.url}/sandbox`);
  await page.locator("#connection", { hasText: "online" }).waitFor();
  await page.click("#new-user");
  await page.fill("#user-name", name);
  await page.click("#create-user");
  await page.locator("#chat-name", { hasText: name }).waitFor();
}

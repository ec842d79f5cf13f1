/**
 * README, Sandbox, "The hint": "The hint of an empty chat says what the running agent does: the
 * coach's questions for the coach, "the echo agent repeats each message" for `AGENT=echo`, the
 * model for `AGENT=llm`, and your module's file name for an agent module."
 *
 * With AGENT=llm and LLM_MODEL=llama3.2 the empty chat's hint should name the model (as it names
 * an agent module's file). The page only ever learns the agent's name ("llm") from the snapshot
 * (event-stream.ts sends `agent` only), so page-strings.js prints the literal placeholder
 * "the configured model (LLM_MODEL)" and never the model that answers.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { startService, type Service } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/observability/log.ts";
import { tempDir } from "../helpers.ts";
import { hasChromium, launchBrowser, type LaunchedBrowser } from "./launch.ts";

const dir = tempDir();
let service: Service;
let browser: LaunchedBrowser;
let page: Page;

beforeAll(async () => {
  if (!hasChromium) return;
  service = await startService(
    loadConfig({
      DATABASE_PATH: `${dir.path}/timbre.db`,
      PORT: "0",
      HOST: "127.0.0.1",
      AGENT: "llm",
      LLM_MODEL: "llama3.2",
      // Never called: the test only opens an empty chat.
      LLM_BASE_URL: "http://127.0.0.1:9/v1",
    }),
    { logger: silentLogger },
  );
  browser = await launchBrowser();
  page = await browser.newPage();
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  dir.cleanup();
});

test.skipIf(!hasChromium)("with AGENT=llm the empty chat's hint names the model that answers", async () => {
  await page.goto(`${service.url}/sandbox`);
  await page.locator("#connection", { hasText: "online" }).waitFor();
  await page.click("#new-user");
  await page.fill("#user-name", "Ana");
  await page.click("#create-user");
  await page.locator("#chat-name", { hasText: "Ana" }).waitFor();
  const hint = (await page.locator("#messages .hint").textContent())!;
  expect(hint).toContain("llm agent");
  expect(hint).toContain("llama3.2");
}, 60_000);

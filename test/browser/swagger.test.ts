import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { startInProcess, tempDir, type Service } from "../helpers.ts";
import { artifactPath, hasChromium, launchBrowser, type LaunchedBrowser } from "./launch.ts";

const ADMIN_PATHS = ["/admin/webhook", "/admin/stats", "/admin/runs", "/admin/runs/{id}/cancel", "/admin/updates", "/admin/updates/{id}/retry", "/admin/outbox"];

const dir = tempDir();
let service: Service;
let browser: LaunchedBrowser | undefined;

beforeAll(async () => {
  service = await startInProcess({ DATABASE_PATH: `${dir.path}/timbre.db`, HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "warn", ADMIN_TOKEN: "swagger-test-token" });
  if (hasChromium) browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await service.stop();
  dir.cleanup();
});

test.skipIf(!hasChromium)("Swagger UI at /swagger works offline: it lists every admin route, loads nothing from outside the app, and can call one with the token", async () => {
  const page = await browser!.newPage();
  const outside: string[] = [];
  const origin = new URL(service.url).origin;
  // Anything not served by timbre itself is refused (and noted): the page must not need it.
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith("data:")) return route.continue();
    outside.push(url);
    return route.abort();
  });
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));

  await page.goto(`${service.url}/swagger`);
  await page.waitForSelector(".opblock-summary-path", { timeout: 20_000 });
  const paths = await page.$$eval(".opblock-summary-path", (nodes) => nodes.map((n) => n.getAttribute("data-path") ?? n.textContent ?? ""));
  for (const path of ADMIN_PATHS) expect(paths.map((p) => p.replace(/\u200b/g, ""))).toContain(path);
  const title = await page.textContent(".info .title");
  expect(title).toContain("timbre admin API");
  // The bearer scheme gives the Authorize button.
  expect(await page.isVisible("button.authorize")).toBe(true);
  expect(outside).toEqual([]);
  expect(errors).toEqual([]);

  // Authorize with ADMIN_TOKEN and try GET /admin/stats from the page.
  await page.click("button.authorize");
  await page.fill(".auth-container input", "swagger-test-token");
  await page.click(".auth-btn-wrapper button.authorize");
  await page.click(".auth-btn-wrapper button.btn-done");
  await page.click("#operations-monitoring-getAdminStats .opblock-summary");
  await page.click("#operations-monitoring-getAdminStats button.try-out__btn");
  await page.click("#operations-monitoring-getAdminStats button.execute");
  const status = await page.waitForSelector("#operations-monitoring-getAdminStats .live-responses-table tbody .response-col_status", { timeout: 10_000 });
  expect((await status.textContent())?.trim()).toStartWith("200");
  expect(await page.textContent("#operations-monitoring-getAdminStats .live-responses-table .microlight")).toContain("uptime_seconds");
  await page.evaluate(() => window.scrollTo(0, 0));

  const shot = artifactPath("swagger.png");
  rmSync(shot, { force: true });
  await page.screenshot({ path: shot, fullPage: true, animations: "disabled" });
  expect(existsSync(shot)).toBe(true);
}, 60_000);

/** The dashboard and the admin routes' brute-force limiter in a real browser: ten wrong tokens from the page lock the address out, the right one included. */
import { describe, expect, test } from "bun:test";
import { startService } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/observability/log.ts";
import { ADMIN_TOKEN, browser, dashboardRig, dir } from "./dashboard-support.ts";
import { artifactPath, hasChromium } from "./launch.ts";

// The rig gives the browser and the folder; the test starts its own service.
dashboardRig();

describe.skipIf(!hasChromium)("the dashboard and the admin routes' brute-force limiter", () => {
  test("ten wrong tokens from the page lock the address out: even the right one then gets the 429's message, and no data", async () => {
    const other = await startService(loadConfig({ DATABASE_PATH: `${dir.path}/limited.db`, PORT: "0", HOST: "127.0.0.1", ADMIN_TOKEN }), { logger: silentLogger });
    const tab = await browser.newPage();
    try {
      await tab.goto(`${other.url}/admin/ui`);
      for (let attempt = 1; attempt <= 10; attempt++) {
        await tab.fill("#token", `wrong-${attempt}`);
        await tab.click("#sign-in");
        await tab.locator("#login-error", { hasText: "Wrong token" }).waitFor();
        await tab.evaluate(() => (document.getElementById("login-error")!.hidden = true));
      }
      await tab.fill("#token", ADMIN_TOKEN);
      await tab.click("#sign-in");
      const error = tab.locator("#login-error", { hasText: "Too many wrong admin tokens from this address" });
      await error.waitFor();
      expect(await error.innerText()).toMatch(/try again in \d+ s/);
      expect(await tab.locator("#dashboard").isHidden()).toBe(true);
      expect(await tab.evaluate(() => sessionStorage.length)).toBe(0);
      await tab.screenshot({ path: artifactPath("dashboard-locked-out.png"), fullPage: true });
    } finally {
      await tab.close();
      await other.stop();
    }
  });
});

/**
 * Shared browser launch for UI tests: Debian's chromium driven by playwright-core.
 * Never downloads a browser; outside CI a test that needs one skips when /usr/bin/chromium is
 * missing (`.ci/run` installs it). Each launch gets a fresh profile that is deleted on close.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { removeAtEndOfRun } from "../end-of-run.ts";

export const CHROMIUM_PATH = "/usr/bin/chromium";
export const ARTIFACTS_DIR = join(import.meta.dir, "..", "artifacts");

/**
 * False only outside CI without the system chromium; use with `test.skipIf(!hasChromium)`. Under
 * CI (CI=true, where `.ci/run` installs chromium) the browser tests always run, so a missing
 * browser fails them instead of skipping them silently.
 */
export const hasChromium = existsSync(CHROMIUM_PATH) || process.env.CI === "true";

export interface LaunchedBrowser {
  /** The browser's one (persistent, but fresh and temporary) context. */
  context: BrowserContext;
  /** A new page (viewport 1280x900). */
  newPage(): Promise<Page>;
  /** Closes the browser and deletes its profile. */
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<LaunchedBrowser> {
  const profile = mkdtempSync(join(tmpdir(), "timbre-chromium-"));
  // Removed by close(); also after the run when a failed launch or test never got there.
  removeAtEndOfRun(profile);
  // Offline, quiet, reproducible: no sandbox (containers), no GPU, no background traffic.
  // playwright refuses --user-data-dir in args; a persistent context on a fresh temp dir is the same thing.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    timeout: 30_000,
  });
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Where a test saves a screenshot (test/artifacts is gitignored). */
export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return join(ARTIFACTS_DIR, name);
}

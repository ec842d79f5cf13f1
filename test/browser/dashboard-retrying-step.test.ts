/**
 * SPEC "Dashboard": a run's journal as a timeline with "steps with their results or errors and
 * attempts"; README: a step between attempts shows as `retrying` with its last error and next
 * attempt's time. page-journal.js step() knows only `failed`: a retrying step is drawn as one that
 * succeeded ("1 attempt · returned nothing"), its error not shown.
 */
import { afterAll, expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { serviceRig, waitFor } from "../helpers.ts";
import { newUser, readDb } from "../runtime/support.ts";
import { hasChromium, launchBrowser, type LaunchedBrowser } from "./launch.ts";

const ADMIN_TOKEN = "admin-token-for-tests_0123456789";
const rig = serviceRig();
let browser: LaunchedBrowser | undefined;
afterAll(async () => {
  await browser?.close();
});

test.skipIf(!hasChromium)("the dashboard's timeline shows a retrying step's last error, not a step that returned nothing", async () => {
  const agent: Agent = async (ctx) => {
    await ctx.step("charge", () => {
      throw new Error("payment service down");
    }, { retries: 3, backoffSeconds: 60 });
  };
  const service = await rig.start({ ADMIN_TOKEN, SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }, { agent });
  rig.emulator.sendText(newUser("Payer"), "buy");
  await waitFor(() => readDb<{ state: string }>(service.config.databasePath, "SELECT state FROM run_steps WHERE kind = 'step'")[0]?.state === "retrying", "the step between attempts");
  const [run] = readDb<{ id: number }>(service.config.databasePath, "SELECT id FROM runs");
  const detail = await (await fetch(`${service.url}/admin/runs/${run!.id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json();

  browser = await launchBrowser();
  const page = await browser.newPage();
  await page.goto(`${service.url}/admin/ui`);
  const shown = await page.evaluate(async (runDetail) => {
    // The page's own module, as the dashboard loads it.
    const { timeline } = (await import("/admin/ui/page-journal.js" as string)) as { timeline: (detail: unknown, onRetry: () => void) => HTMLElement };
    const list = timeline(runDetail, () => {});
    document.body.append(list);
    return (list.querySelector('[data-kind="step"]') as HTMLElement).innerText;
  }, detail);
  expect(shown).toContain("payment service down");
  expect(shown).not.toContain("returned nothing");
});

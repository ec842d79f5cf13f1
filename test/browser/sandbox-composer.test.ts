/**
 * The sandbox page's composer and tap notice, as a person using it would expect: a message the
 * sandbox refuses stays in the composer to fix and send again (it was cleared, the text lost),
 * and a tap's notice belongs to its chat: switching to another chat hides it at once (it stayed
 * over the other chat for the rest of its 3.5 s).
 */
import { expect, test } from "bun:test";
import { waitFor } from "../helpers.ts";
import { hasChromium } from "./launch.ts";
import { openChatWithNewUser, sandboxWithPage } from "./sandbox-support.ts";

const sandbox = sandboxWithPage({ SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });

test.skipIf(!hasChromium)("a refused message stays in the composer, with the reason shown", async () => {
  await openChatWithNewUser(sandbox, "Ana");
  const { page } = sandbox;
  const tooLong = "x".repeat(4097);
  await page.fill("#input", tooLong);
  await page.press("#input", "Enter");
  await page.locator("#error").waitFor({ state: "visible" });
  expect(await page.inputValue("#input")).toBe(tooLong);

  await page.fill("#input", "hi");
  await page.press("#input", "Enter");
  await page.locator("#messages .bubble.bot").first().waitFor();
  expect(await page.inputValue("#input")).toBe("");
  expect(await page.locator("#error").isHidden()).toBe(true);
}, 60_000);

test.skipIf(!hasChromium)("a tap's notice is hidden when another chat is opened", async () => {
  const { page, service } = sandbox;
  await openChatWithNewUser(sandbox, "Ben");
  await openChatWithNewUser(sandbox, "Cleo");
  const ben = [...service.emulator!.users.values()].find((user) => user.first_name === "Ben")!;
  const post = (path: string, body: unknown) => fetch(`${service.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  // The coach up to its level question, whose buttons stay marked once one is tapped.
  for (const [text, count] of [["hi", 1], ["get fit", 2], ["4", 3]] as const) {
    expect((await post("/sandbox/send", { user: ben, text })).status).toBe(200);
    await waitFor(() => service.emulator!.sentTo(ben.id).length === count, `the coach's message ${count}`);
  }
  const level = service.emulator!.sentTo(ben.id)[2]!;
  expect((await post("/sandbox/tap", { user: ben, message_id: level.message_id, button: "Advanced" })).status).toBe(200);

  await page.click(`[data-chat-id="${ben.id}"]`);
  await page.locator("#chat-name", { hasText: "Ben" }).waitFor();
  // The question is closed now: a second tap gets the notice, shown over Ben's chat.
  await page.locator("#messages .key", { hasText: "✓ Advanced" }).click();
  await page.locator("#notice").waitFor({ state: "visible" });
  await page.click(`[data-chat-id]:not([data-chat-id="${ben.id}"])`);
  await page.locator("#chat-name", { hasText: "Cleo" }).waitFor();
  expect(await page.locator("#notice").isHidden()).toBe(true);
}, 60_000);

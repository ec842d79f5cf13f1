/**
 * README, Sandbox, "Buttons": "A bot message with an inline keyboard (`reply_markup.inline_keyboard`,
 * ...) shows its buttons under the bubble. Tapping one sends a callback query as that user, as
 * Telegram does".
 *
 * A keyboard whose buttons are labelled 1, 2, 3 and carry the zero-based indexes "0", "1", "2"
 * as callback_data (a common way to number choices). Tapping "3" on the page must send the
 * callback query of button "3" (data "2"), as Telegram does. The page posts the button's
 * callback_data ("2") to /sandbox/tap, and the emulator picks the first button whose text OR
 * callback_data is "2": button "2", whose data is "1". The bot hears the wrong button.
 */
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { waitFor } from "../helpers.ts";
import { hasChromium } from "./launch.ts";
import { openChatWithNewUser, sandboxWithPage } from "./sandbox-support.ts";

const sandbox = sandboxWithPage((dir) => {
  // A bot that offers three numbered buttons and says which callback_data it received.
  writeFileSync(
    `${dir}/numbers.ts`,
    `export default async (ctx) => {
  const query = ctx.update.callback_query;
  if (query) return ctx.reply("tapped data " + query.data);
  await ctx.reply("How many?", { reply_markup: { inline_keyboard: [[
    { text: "1", callback_data: "0" }, { text: "2", callback_data: "1" }, { text: "3", callback_data: "2" },
  ]] } });
};
`,
  );
  return { AGENT: `${dir}/numbers.ts`, SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" };
});

test.skipIf(!hasChromium)("tapping the button labelled 3 sends button 3's callback_data, not another button's", async () => {
  await openChatWithNewUser(sandbox, "Ana");
  const { page } = sandbox;

  await page.fill("#input", "hi");
  await page.press("#input", "Enter");
  const keys = page.locator("#messages .with-keyboard .key");
  await keys.first().waitFor({ timeout: 15_000 });
  expect(await keys.allTextContents()).toEqual(["1", "2", "3"]);

  await page.locator("#messages .with-keyboard .key", { hasText: "3" }).click();
  const reply = page.locator("#messages .bubble.bot .text", { hasText: "tapped data" });
  await reply.waitFor({ timeout: 15_000 });
  await waitFor(async () => (await reply.count()) === 1, "the bot's answer to the tap");
  // Telegram sends the tapped button's own callback_data.
  expect(await reply.textContent()).toBe("tapped data 2");
}, 60_000);

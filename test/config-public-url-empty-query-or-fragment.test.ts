/**
 * SPEC "Configuration": "`PUBLIC_URL` | public https base URL; in webhook mode, on start,
 * setWebhook to `{PUBLIC_URL}/telegram/webhook`" and "Invalid values (... `PUBLIC_URL` not
 * https ...) stop the start with one clear line naming the variable and what is allowed".
 * README "Configuration": "Every variable is validated on start; a bad value stops the start
 * with one line naming the variable".
 *
 * A base URL ending in a bare `#` or `?` is no base URL: `{PUBLIC_URL}/telegram/webhook` becomes
 * `https://bot.example.com#/telegram/webhook` (Telegram posts to `/`, the fragment is never
 * sent) or `https://bot.example.com?/telegram/webhook` (a query, path `/`). config.ts refuses a
 * non-empty query or fragment ("expected a base URL without query or fragment") but checks
 * `url.search` / `url.hash`, which are "" for a bare `?` / `#`, so these start and point the
 * webhook nowhere.
 */
import { expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../src/config.ts";
import { webhookUrlFor } from "../src/telegram/webhook-control.ts";

const TOKEN = "123456:ABC-def_ghi";

for (const value of ["https://bot.example.com#", "https://bot.example.com?", "https://bot.example.com/?"]) {
  test(`PUBLIC_URL=${value} is refused naming PUBLIC_URL`, () => {
    let outcome: string;
    try {
      const config = loadConfig({ TELEGRAM_BOT_TOKEN: TOKEN, PUBLIC_URL: value }, "/srv");
      outcome = `started; setWebhook url would be ${webhookUrlFor(config.publicUrl)}`;
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      outcome = (error as Error).message;
    }
    expect(outcome).toMatch(/^PUBLIC_URL=.* is invalid: /);
    expect(outcome).not.toContain("\n");
  });
}

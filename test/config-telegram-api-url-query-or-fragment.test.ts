/**
 * SPEC "Configuration": "`TELEGRAM_API_URL` | `https://api.telegram.org` | Bot API root; calls go
 * to `{root}/bot{token}/{method}`". README "Configuration": "Every variable is validated on
 * start; a bad value stops the start with one line naming the variable, the value ... and what
 * is allowed, and exit code 1."
 *
 * A root with a query or a fragment is no root: `{root}/bot{token}/{method}` then puts the
 * token and method inside the query (`https://api.telegram.org?x=1/bot.../getMe`) or the
 * fragment, which is never sent, so every Bot API call goes to `/` and fails. config.ts apiUrl()
 * only checks the protocol, so timbre starts and fails every call instead of stopping with a
 * line naming TELEGRAM_API_URL (PUBLIC_URL, by contrast, refuses a query or fragment).
 */
import { expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../src/config.ts";

const TOKEN = "123456:ABC-def_ghi";

for (const value of ["https://api.telegram.org?region=eu", "https://api.telegram.org/#mirror"]) {
  test(`TELEGRAM_API_URL=${value} is refused naming TELEGRAM_API_URL`, () => {
    let outcome: string;
    try {
      const config = loadConfig({ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_URL: value }, "/srv");
      outcome = `started; getMe would go to ${config.apiUrl}/bot<token>/getMe`;
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      outcome = (error as Error).message;
    }
    expect(outcome).toMatch(/^TELEGRAM_API_URL=.* is invalid: /);
  });
}

import type { Clock } from "../clock.ts";
import type { StoredUpdate } from "../ingest/inbox.ts";
import { callbackQueryIdOf } from "../ingest/update-fields.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import type { TelegramApi } from "./api.ts";

/** A tap's spinner gives up after about 15 s; a minute covers a crash and a restart that follows it. */
export const RECENT_TAP_MS = 60_000;

/** The inbox of either engine. */
interface RoutedTaps {
  routedTapsSince(since: number): StoredUpdate[] | Promise<StoredUpdate[]>;
}

/**
 * A tap's answerCallbackQuery is not stored: it is sent once the tap is routed. A crash between
 * the two (or during the answer's retries) would leave that button spinning, so on start every
 * tap routed in the last minute is answered again, once, without its notice, in the background.
 * Telegram refuses an answer given twice (a 400), which changes nothing: that is logged at debug only.
 */
export function answerRecentTaps(inbox: RoutedTaps, deps: { api: TelegramApi; clock: Clock; log: Logger }): void {
  const { api, clock, log } = deps;
  const answerAll = async () => {
    for (const tap of await inbox.routedTapsSince(clock.now() - RECENT_TAP_MS)) {
      const callbackQueryId = callbackQueryIdOf(tap.update);
      if (callbackQueryId === undefined) continue;
      const outcome = await api.call("answerCallbackQuery", { callback_query_id: callbackQueryId });
      if (!outcome.ok) log.debug("telegram: a recent tap answered again on start was refused (answered already)", { update_id: tap.updateId, error: outcome.description });
    }
  };
  answerAll().catch((error: unknown) => log.warn("telegram: could not answer recent taps again", errorFields(error)));
}

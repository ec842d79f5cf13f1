import { ApiError } from "./emulator-http.ts";
import type { Faults, Params, RawAnswer } from "./emulator-types.ts";

export function noFaults(): Faults {
  return { rate429: 0, retryAfter: 1, rate5xx: 0, down: false, delayMs: 0, blockedChats: new Set(), migratedChats: new Map(), rawAnswers: [], methods: [] };
}

function applies(faults: Faults, method: string): boolean {
  return faults.methods.length === 0 || faults.methods.includes(method);
}

/** The next raw (non-Bot-API) answer queued for this method, if any; taken off the queue. */
export function takeRawAnswer(faults: Faults, method: string): RawAnswer | undefined {
  if (faults.rawAnswers.length === 0 || !applies(faults, method)) return undefined;
  return faults.rawAnswers.shift();
}

/** Throws the Bot API error a fault calls for (down, blocked, migrated, random 429 or 502); returns when none applies. */
export function injectFaults(faults: Faults, random: () => number, method: string, params: Params): void {
  const chatId = Number(params.chat_id);
  // A migrated group answers so whatever the other faults say, as Telegram does.
  const migratedTo = faults.migratedChats.get(chatId);
  if (migratedTo !== undefined && params.chat_id !== undefined) {
    throw new ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat", { migrate_to_chat_id: migratedTo });
  }
  if (!applies(faults, method)) return;
  if (faults.down) throw new ApiError(502, "Bad Gateway");
  if (faults.blockedChats.has(chatId)) throw new ApiError(403, "Forbidden: bot was blocked by the user");
  const roll = random();
  if (roll < faults.rate429) {
    const retryAfter = faults.retryAfter;
    throw new ApiError(429, `Too Many Requests: retry after ${retryAfter}`, { retry_after: retryAfter });
  }
  if (roll < faults.rate429 + faults.rate5xx) throw new ApiError(502, "Bad Gateway");
}

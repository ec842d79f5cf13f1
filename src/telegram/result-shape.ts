import { isRecord } from "./bot-api-answer.ts";

/**
 * What timbre reads of the results it uses. An `ok: true` answer without it (a misbehaving proxy
 * or Bot API server: `{"ok":true,"result":null}`) is no usable answer: the call fails like an
 * unreadable one (code 0, retried where a network error is), instead of a TypeError deep in the
 * poller, the webhook setup or the outbox.
 */
const EXPECTED: Record<string, { what: string; usable: (result: unknown) => boolean }> = {
  getUpdates: { what: "a list of updates", usable: Array.isArray },
  getWebhookInfo: { what: "a WebhookInfo object", usable: (r) => isRecord(r) && typeof r.url === "string" },
  getMe: { what: "a User object", usable: (r) => isRecord(r) && typeof r.id === "number" },
  sendMessage: { what: "a Message object", usable: (r) => isRecord(r) && typeof r.message_id === "number" },
};

/** Why `result` is not what `method` answers (for the failure's description), or undefined when it is. */
export function unusableResult(method: string, result: unknown): string | undefined {
  const expected = EXPECTED[method];
  if (!expected || expected.usable(result)) return undefined;
  const shown = JSON.stringify(result) ?? String(result);
  return `ok, but its result is not ${expected.what} (result: ${shown.length > 100 ? `${shown.slice(0, 100)}…` : shown})`;
}

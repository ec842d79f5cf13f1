/** The outcome of one Bot API call, as a value: callers decide what a failure means. */
export type ApiOutcome<T> =
  | { ok: true; result: T }
  | {
      ok: false;
      /**
       * Telegram's error_code; the HTTP status for an answer that is not the Bot API's (a proxy's
       * 502) and for any HTTP 5xx; 0 for a network error, a timeout or an unreadable 2xx answer
       * (also one whose result is not what the method answers: result-shape.ts).
       */
      code: number;
      /** What went wrong, never empty. */
      description: string;
      /** An HTTP answer came, but not one timbre could use (code 0): not the network's fault. */
      unusable?: true;
      /** Seconds Telegram asks us to wait (429). */
      retryAfter?: number;
      /** The supergroup a group became (400 with parameters.migrate_to_chat_id). */
      migrateToChatId?: number;
    };

export type ApiFailure = Extract<ApiOutcome<unknown>, { ok: false }>;

/** How much of a body that is not a Bot API answer an error quotes. */
const QUOTED_BODY_CHARS = 200;

function statusLine(status: number, statusText: string): string {
  return `HTTP ${status}${statusText ? ` ${statusText}` : ""}`;
}

function bodyStart(body: string): string {
  const flat = body.replace(/\s+/g, " ").trim();
  if (flat === "") return "empty body";
  return `body: ${flat.length > QUOTED_BODY_CHARS ? `${flat.slice(0, QUOTED_BODY_CHARS)}…` : flat}`;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Reads one HTTP answer of the Bot API. Telegram's own errors keep their error_code and
 * description; any HTTP 5xx counts as a 5xx whatever its body says; an answer that is not the
 * Bot API's (a proxy's HTML page, JSON without error_code) is named by its HTTP status and the
 * start of its body.
 */
export function readBotApiAnswer(status: number, statusText: string, body: string): ApiOutcome<unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  if (isRecord(parsed) && parsed.ok === true && "result" in parsed && status < 300) return { ok: true, result: parsed.result };
  const telegramCode = isRecord(parsed) && typeof parsed.error_code === "number" && Number.isInteger(parsed.error_code) ? parsed.error_code : undefined;
  if (!isRecord(parsed) || parsed.ok !== false || telegramCode === undefined) {
    return { ok: false, code: status >= 300 ? status : 0, description: `${statusLine(status, statusText)}, not a Bot API answer (${bodyStart(body)})`, ...(status < 300 ? { unusable: true as const } : {}) };
  }
  const telegramText = typeof parsed.description === "string" && parsed.description.trim() !== "" ? parsed.description : undefined;
  const parameters = isRecord(parsed.parameters) ? parsed.parameters : {};
  const retryAfter = typeof parameters.retry_after === "number" ? parameters.retry_after : undefined;
  const migrateToChatId = typeof parameters.migrate_to_chat_id === "number" && Number.isSafeInteger(parameters.migrate_to_chat_id) ? parameters.migrate_to_chat_id : undefined;
  let description = telegramText ?? `${statusLine(status, statusText)} (error_code ${telegramCode}, no description)`;
  if (migrateToChatId !== undefined) description += ` (migrate_to_chat_id ${migrateToChatId})`;
  return {
    ok: false,
    // A 5xx stays a 5xx even when its body names another code.
    code: status >= 500 ? status : telegramCode,
    description,
    ...(retryAfter !== undefined ? { retryAfter } : {}),
    ...(migrateToChatId !== undefined ? { migrateToChatId } : {}),
  };
}

/** A failed call in words, for a person (the admin routes, the command line). */
export function failureText(method: string, outcome: ApiFailure): string {
  if (outcome.code === 0) return outcome.unusable ? `Telegram's answer to ${method} could not be used: ${outcome.description}` : `could not reach Telegram for ${method}: ${outcome.description}`;
  if (outcome.code >= 500) return `Telegram failed ${method} (${outcome.code}): ${outcome.description}`;
  return `Telegram refused ${method} (${outcome.code}): ${outcome.description}`;
}

/** A call failed in a way worth retrying: network, timeout, 5xx or 429. */
export function isRetryable(outcome: { ok: false; code: number }): boolean {
  return outcome.code === 0 || outcome.code === 429 || outcome.code >= 500;
}

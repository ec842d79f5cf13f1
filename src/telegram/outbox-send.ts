import type { OutboxMethod, OutboxStatus } from "../db/schema.ts";
import { errorFields } from "../observability/log.ts";
import type { ApiOutcome, TelegramApi } from "./api.ts";

/** What a send needs of its outbox row. */
export interface SendRow {
  id: number;
  chat_id: number;
  method: OutboxMethod;
  text: string;
  options: string | null;
  /** editMessageReplyMarkup: the message to edit. */
  message_id: number | null;
  status: OutboxStatus;
  attempts: number;
  run_id: number | null;
  update_id: number | null;
}

/** Telegram's answer to an edit that changes nothing: the keyboard already is what was asked. */
const NOT_MODIFIED = /message is not modified/i;

/**
 * Makes the Bot API call a row stands for and reads its answer as the id of the message it
 * concerns: the new message's for sendMessage, the edited one's for editMessageReplyMarkup
 * (where "message is not modified" means done too).
 */
export async function sendRow(api: TelegramApi, row: SendRow): Promise<ApiOutcome<{ message_id: number }>> {
  try {
    const options = row.options ? (JSON.parse(row.options) as Record<string, unknown>) : {};
    if (row.method === "editMessageReplyMarkup") {
      const messageId = row.message_id ?? 0;
      const outcome = await api.call("editMessageReplyMarkup", { ...options, chat_id: row.chat_id, message_id: messageId });
      if (outcome.ok || (outcome.code === 400 && NOT_MODIFIED.test(outcome.description))) return { ok: true, result: { message_id: messageId } };
      return outcome;
    }
    return await api.call("sendMessage", { ...options, chat_id: row.chat_id, text: row.text });
  } catch (error) {
    return { ok: false, code: 400, description: `timbre could not send this row: ${errorFields(error).error}` };
  }
}

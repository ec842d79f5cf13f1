import type { NewRun } from "../../src/runtime/run-store.ts";

/** A run for `conversation` triggered by update `triggerUpdateId`, as the store tests insert it. */
export function newRun(conversation: string, triggerUpdateId: number): NewRun {
  return { conversation, chatId: 42, userId: 7, agent: "coach", agentVersion: "v1", triggerUpdateId, trigger: JSON.stringify({ update_id: triggerUpdateId }) };
}

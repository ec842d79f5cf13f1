/** A conversation's history as the llm agent remembers it, and how it is trimmed without breaking tool calls. */
import { isHistory, jsonBytes, type HistoryMessage } from "./wire.ts";

/** What the llm agent keeps in ctx.memory. */
export interface LlmMemory {
  messages: HistoryMessage[];
}

/** History stays well under ctx.remember's 256 KiB, whatever LLM_HISTORY_MESSAGES allows. */
export const HISTORY_MAX_BYTES = 192 * 1024;

/** The history in a conversation's memory: empty at first, undefined when the memory holds something else. */
export function historyOf(memory: unknown): HistoryMessage[] | undefined {
  if (memory === undefined || memory === null) return [];
  const messages = (memory as { messages?: unknown }).messages;
  return typeof memory === "object" && isHistory(messages) ? messages : undefined;
}

/**
 * Splits a history into the pieces that must stay together: a user or plain assistant message
 * alone; an assistant message that calls tools together with the results of all its calls. A
 * tool result without its call, and a call missing some of its results, are dropped: servers
 * answer 400 to either.
 */
function blocksOf(messages: readonly HistoryMessage[]): HistoryMessage[][] {
  const blocks: HistoryMessage[][] = [];
  for (let i = 0; i < messages.length; ) {
    const message = messages[i]!;
    if (message.role === "tool") {
      i++;
      continue;
    }
    if (message.role !== "assistant" || !message.tool_calls?.length) {
      blocks.push([message]);
      i++;
      continue;
    }
    const ids = new Set(message.tool_calls.map((call) => call.id));
    let end = i + 1;
    while (end < messages.length && messages[end]!.role === "tool") end++;
    const results = messages.slice(i + 1, end).filter((result) => result.role === "tool" && ids.has(result.tool_call_id));
    const answered = new Set(results.map((result) => (result.role === "tool" ? result.tool_call_id : "")));
    if (answered.size === ids.size) blocks.push([message, ...results]);
    i = end;
  }
  return blocks;
}

/**
 * The newest part of a history that fits in `maxMessages` messages and `maxBytes` of JSON, cut
 * only between blocks and starting at a user message: it never splits a tool call from its
 * results and never starts with a tool result or an answer whose question was cut away.
 */
export function trimHistory(messages: readonly HistoryMessage[], maxMessages: number, maxBytes = HISTORY_MAX_BYTES): HistoryMessage[] {
  const blocks = blocksOf(messages);
  const kept: HistoryMessage[][] = [];
  let count = 0;
  let bytes = 2;
  for (let i = blocks.length - 1; i >= 0; i--) {
    const block = blocks[i]!;
    const size = block.reduce((sum, message) => sum + jsonBytes(message) + 1, 0);
    if (count + block.length > maxMessages || bytes + size > maxBytes) break;
    kept.unshift(block);
    count += block.length;
    bytes += size;
  }
  // An exchange starts with the user's message: the model's answers to a message cut away go too
  // (some servers' chat templates refuse a history that starts with the assistant).
  while (kept.length > 0 && kept[0]![0]!.role !== "user") kept.shift();
  return kept.flat();
}

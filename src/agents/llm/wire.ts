/**
 * The Chat Completions wire format: what timbre sends (typed) and what it accepts (TypeBox
 * schemas checked at the edge). test/agents/llm/openai-types.ts checks both against the official
 * `openai` package's types.
 */
import { Type as t, type Static } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

const ToolCall = t.Object({
  id: t.String(),
  type: t.Literal("function"),
  function: t.Object({ name: t.String(), arguments: t.String() }),
});

/** A message of a conversation's history, as sent to the model and remembered (the system prompt is never stored). */
export const HistoryMessage = t.Union([
  t.Object({ role: t.Literal("user"), content: t.String() }),
  t.Object({ role: t.Literal("assistant"), content: t.Union([t.String(), t.Null()]), tool_calls: t.Optional(t.Array(ToolCall)) }),
  t.Object({ role: t.Literal("tool"), tool_call_id: t.String(), content: t.String() }),
]);
export type HistoryMessage = Static<typeof HistoryMessage>;
export type ToolCall = Static<typeof ToolCall>;
export type AssistantMessage = Extract<HistoryMessage, { role: "assistant" }>;
export type ChatMessage = { role: "system"; content: string } | HistoryMessage;

export interface FunctionTool {
  type: "function";
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

/** The body of POST {LLM_BASE_URL}/chat/completions. */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  tools: FunctionTool[];
}

/**
 * What timbre accepts as an answer: every field it reads, loosely where servers differ (a missing
 * or null tool call id or type, arguments as an object), everything else ignored.
 */
const AcceptedToolCall = t.Object({
  id: t.Optional(t.Union([t.String(), t.Null()])),
  type: t.Optional(t.Union([t.String(), t.Null()])),
  // Any arguments and a missing name pass here: a bad call goes back to the model as a tool error, for it to fix.
  function: t.Optional(t.Object({ name: t.Optional(t.Union([t.String(), t.Null()])), arguments: t.Optional(t.Unknown()) })),
});
export const AcceptedCompletion = t.Object({
  choices: t.Array(
    t.Object({
      message: t.Object({
        content: t.Optional(t.Union([t.String(), t.Null()])),
        refusal: t.Optional(t.Union([t.String(), t.Null()])),
        tool_calls: t.Optional(t.Union([t.Array(AcceptedToolCall), t.Null()])),
      }),
      finish_reason: t.Optional(t.Union([t.String(), t.Null()])),
    }),
    { minItems: 1 },
  ),
  usage: t.Optional(t.Union([t.Object({ prompt_tokens: t.Optional(t.Number()), completion_tokens: t.Optional(t.Number()) }), t.Null()])),
});
export type AcceptedCompletion = Static<typeof AcceptedCompletion>;
export type AcceptedToolCall = Static<typeof AcceptedToolCall>;

/** A model's answer, checked: the completion, or what is wrong with it in words a person can act on. */
export type ParsedCompletion = { ok: true; completion: AcceptedCompletion } | { ok: false; problem: string };

/** `redact` runs on the text an error quotes before it is cut, so a secret it holds never shows in part. */
export function parseCompletion(text: string, redact: (text: string) => string = (t) => t): ParsedCompletion {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, problem: `the answer is not JSON (it starts ${JSON.stringify(redact(text).slice(0, 80))})` };
  }
  if (Value.Check(AcceptedCompletion, body)) return { ok: true, completion: body };
  const first = Value.Errors(AcceptedCompletion, body).First();
  return { ok: false, problem: `the answer is not a chat completion: ${first ? `${first.path || "/"}: ${first.message}` : "unexpected shape"}` };
}

/**
 * The error message of a non-2xx answer as OpenAI-compatible servers word it ({error:{message}},
 * {message}, {error:"..."}), else its text, cut to 300 characters after `redact` ran on it.
 */
export function errorMessageOf(text: string, redact: (text: string) => string = (t) => t): string {
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === "object" && body !== null) {
      const { error, message, detail } = body as Record<string, unknown>;
      if (typeof error === "object" && error !== null && typeof (error as { message?: unknown }).message === "string") return (error as { message: string }).message;
      for (const value of [error, message, detail]) if (typeof value === "string" && value.trim() !== "") return value;
    }
  } catch {
    // Not JSON: the text itself says what went wrong.
  }
  const plain = redact(text).trim().replace(/\s+/g, " ");
  return plain === "" ? "no error message" : plain.slice(0, 300);
}

/** One history message's size as JSON, for keeping memory under its limit. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

export function isHistory(value: unknown): value is HistoryMessage[] {
  return Array.isArray(value) && value.every((message) => Value.Check(HistoryMessage, message));
}

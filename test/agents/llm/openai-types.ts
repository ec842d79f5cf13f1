/**
 * Compile-time checks of the llm agent's wire format against the official `openai` package's
 * Chat Completions types (tsc runs on this file in `bunx tsc --noEmit` and in
 * openai-types.test.ts): every request timbre can send is a valid OpenAI request, and every
 * answer OpenAI's types allow is one timbre accepts.
 */
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam, ChatCompletionTool } from "openai/resources/chat/completions";
import type { askUserTool } from "../../../src/agents/llm/tools.ts";
import type { AcceptedCompletion, ChatMessage, ChatRequest, HistoryMessage } from "../../../src/agents/llm/wire.ts";

type Assignable<From extends To, To> = [From, To];

/** What timbre sends. */
export type RequestIsOpenAi = Assignable<ChatRequest, ChatCompletionCreateParamsNonStreaming>;
export type MessageIsOpenAi = Assignable<ChatMessage, ChatCompletionMessageParam>;
export type RememberedIsOpenAi = Assignable<HistoryMessage, ChatCompletionMessageParam>;
export type ToolIsOpenAi = Assignable<typeof askUserTool, ChatCompletionTool>;

/** What timbre accepts: all that OpenAI's types allow (tool calls of every kind, null usage...). */
export type AnswerIsAccepted = Assignable<ChatCompletion, AcceptedCompletion>;

/** Answers as OpenAI sends them, typed by the package; openai-types.test.ts checks timbre parses them. */
export const openAiAnswers = {
  text: {
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1_700_000_000,
    model: "gpt-4o-mini-2024-07-18",
    choices: [{ index: 0, message: { role: "assistant", content: "Hello!", refusal: null, annotations: [] }, finish_reason: "stop", logprobs: null }],
    usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 },
    service_tier: "default",
    system_fingerprint: "fp_1",
  },
  toolCalls: {
    id: "chatcmpl-2",
    object: "chat.completion",
    created: 1_700_000_000,
    model: "gpt-4o-mini-2024-07-18",
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: null,
          refusal: null,
          tool_calls: [
            { id: "call_a", type: "function", function: { name: "ask_user", arguments: '{"question":"Where?","choices":["Lisbon","Porto"]}' } },
            { id: "call_b", type: "custom", custom: { name: "grammar_tool", input: "x" } },
          ],
        },
        finish_reason: "tool_calls",
        logprobs: null,
      },
    ],
  },
  refusal: {
    id: "chatcmpl-3",
    object: "chat.completion",
    created: 1_700_000_000,
    model: "gpt-4o-mini-2024-07-18",
    choices: [{ index: 0, message: { role: "assistant", content: null, refusal: "I can't help with that." }, finish_reason: "stop", logprobs: null }],
  },
} satisfies Record<string, ChatCompletion>;

import { systemClock, type Clock } from "../../clock.ts";
import type { Logger } from "../../observability/log.ts";
import type { Metrics } from "../../observability/metrics.ts";
import type { Agent } from "../../runtime/context.ts";
import { ChatClient } from "./client.ts";
import { historyOf, trimHistory, type LlmMemory } from "./history.ts";
import type { RetryPolicy } from "./retry.ts";
import type { LlmSettings } from "./settings.ts";
import { askUserTool, toolRequestOf } from "./tools.ts";
import type { AcceptedCompletion, AssistantMessage, ChatMessage, HistoryMessage } from "./wire.ts";

export interface LlmAgentDeps {
  log: Logger;
  metrics?: Metrics;
  /** Backoff waits and call time limits (default the system clock). */
  clock?: Clock;
  /** When failed calls are tried again (default: 4 attempts, 1 s doubling to 20 s). */
  retry?: RetryPolicy;
}

const EMPTY_ANSWER = "(The model gave an empty answer.)";

/** What the user is told when a run has used its LLM_MAX_TURNS model calls. */
export function turnLimitNotice(maxTurns: number): string {
  return `Sorry, I could not finish this: I reached my limit of ${maxTurns} model calls for one message. Please try again, perhaps one step at a time.`;
}

/** A call's arguments as the JSON text the API defines them as; an object (or null, an array) some servers send, as JSON. */
function argumentsText(value: unknown): string {
  if (value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * The model's answer as its step journals it: the first choice's message, with every tool call
 * given an id and string arguments (servers differ), and an empty final answer made visible.
 */
function assistantMessageOf(completion: AcceptedCompletion, runId: number, turn: number): AssistantMessage {
  const { content, refusal, tool_calls } = completion.choices[0]!.message;
  const calls = (tool_calls ?? []).map((call, index) => ({
    // Unique across the remembered history too, where earlier runs' calls stay beside this one's.
    id: call.id ?? `call_${runId}_${turn}_${index + 1}`,
    type: "function" as const,
    function: {
      name: call.function?.name ?? "",
      arguments: argumentsText(call.function?.arguments),
    },
  }));
  if (calls.length > 0) return { role: "assistant", content: content ?? null, tool_calls: calls };
  const text = content?.trim() || refusal?.trim() || EMPTY_ANSWER;
  return { role: "assistant", content: text };
}

/**
 * The `llm` built-in: each text starts a run in which the model gets the system prompt, the
 * conversation's history (ctx.memory, at most LLM_HISTORY_MESSAGES) and the text, with the one
 * tool ask_user. Every model call is a step (`model call N`), so a replay never makes a finished
 * call again; tool calls are handled in order, bad ones reported back to the model as tool
 * errors; the final message is the reply and the history is remembered. After LLM_MAX_TURNS
 * model calls the user is told plainly and the run ends. A call that fails for good fails the
 * run (its step journals the model's error).
 */
export function llmAgent(settings: LlmSettings, deps: LlmAgentDeps): Agent<LlmMemory> {
  const client = new ChatClient(settings, { ...deps, clock: deps.clock ?? systemClock });
  const system: ChatMessage = { role: "system", content: settings.systemPrompt };
  return async (ctx) => {
    if (ctx.text === undefined) return;
    const fields = { run_id: ctx.runId, chat_id: ctx.chatId };
    const remembered = historyOf(ctx.memory);
    if (remembered === undefined) deps.log.warn("llm: the conversation's memory is not an llm history; starting without it", fields);
    const history = trimHistory(remembered ?? [], settings.historyMessages);
    const run: HistoryMessage[] = [{ role: "user", content: ctx.text }];
    const end = async (text: string) => {
      await ctx.reply(text);
      await ctx.remember({ messages: trimHistory([...history, ...run], settings.historyMessages) });
    };

    for (let turn = 1; turn <= settings.maxTurns; turn++) {
      const messages = [system, ...history, ...run];
      // retries: 0: the client retries what may pass (429, 5xx, network) and fails the rest at once.
      const answer = await ctx.step(
        `model call ${turn}`,
        async () => assistantMessageOf(await client.complete({ model: settings.model, messages, tools: [askUserTool] }, ctx.signal, { ...fields, call: turn }), ctx.runId, turn),
        { retries: 0 },
      );
      run.push(answer);
      if (!answer.tool_calls?.length) return end(answer.content ?? EMPTY_ANSWER);
      // The last call allowed: a question asked now could never reach the model with its answer.
      if (turn === settings.maxTurns) break;
      for (const call of answer.tool_calls) {
        const request = toolRequestOf(call);
        const content = request.kind === "ask" ? await ctx.ask(request.question, request.choices ? { choices: request.choices } : {}) : request.message;
        run.push({ role: "tool", tool_call_id: call.id, content });
      }
    }
    const notice = turnLimitNotice(settings.maxTurns);
    run.push({ role: "assistant", content: notice });
    await end(notice);
  };
}

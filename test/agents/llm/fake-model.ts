/**
 * A fake OpenAI-compatible Chat Completions server for the llm agent's tests: real HTTP on
 * 127.0.0.1, port 0, answering each POST /v1/chat/completions with the next scripted answer and
 * recording every request it got.
 */
import type { Server } from "bun";
import type { ChatCompletion } from "openai/resources/chat/completions";
import type { ChatRequest } from "../../../src/agents/llm/wire.ts";

export interface ScriptedAnswer {
  status?: number;
  headers?: Record<string, string>;
  /** A JSON value, or a string sent as it is (malformed answers). */
  body: unknown;
  /** Holds the answer back this long (slow models). */
  delayMs?: number;
}

export interface RecordedRequest {
  /** When it arrived, on `now` (a test's clock). */
  at: number;
  path: string;
  authorization: string | null;
  /** As timbre sent it (test/agents/llm/openai-types.ts checks the type against the openai package's). */
  body: ChatRequest;
}

export interface ToolCallSpec {
  id?: string;
  name: string;
  /** An object is sent as JSON text; a string as it is (bad arguments). */
  args: unknown;
}

const usage = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };

/** A completion whose final message is `content` (typed as the openai package's ChatCompletion). */
export function textAnswer(content: string): ScriptedAnswer {
  return {
    body: {
      id: "chatcmpl-fake",
      object: "chat.completion",
      created: 1_700_000_000,
      model: "fake-model",
      choices: [{ index: 0, message: { role: "assistant", content, refusal: null }, finish_reason: "stop", logprobs: null }],
      usage,
    } satisfies ChatCompletion,
  };
}

/** A completion that calls tools, in this order. */
export function toolCallAnswer(...calls: ToolCallSpec[]): ScriptedAnswer {
  return {
    body: {
      id: "chatcmpl-fake",
      object: "chat.completion",
      created: 1_700_000_000,
      model: "fake-model",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: null,
            refusal: null,
            tool_calls: calls.map((call, i) => ({
              id: call.id ?? `call_${i + 1}`,
              type: "function",
              function: { name: call.name, arguments: typeof call.args === "string" ? call.args : JSON.stringify(call.args) },
            })),
          },
          finish_reason: "tool_calls",
          logprobs: null,
        },
      ],
      usage,
    } satisfies ChatCompletion,
  };
}

export function errorAnswer(status: number, message: string, headers: Record<string, string> = {}): ScriptedAnswer {
  return { status, headers, body: { error: { message, type: "invalid_request_error", code: null } } };
}

export class FakeModelServer {
  readonly requests: RecordedRequest[] = [];
  private readonly script: ScriptedAnswer[] = [];
  private readonly server: Server<undefined>;

  /** `now` stamps each request (a test's clock); `port` 0 picks a free one. */
  constructor(
    private readonly now: () => number = Date.now,
    port = 0,
  ) {
    this.server = Bun.serve({ hostname: "127.0.0.1", port, idleTimeout: 0, fetch: (request) => this.handle(request) });
  }

  /** The LLM_BASE_URL for this server. */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.server.port}/v1`;
  }

  /** Queues answers, given in order to the requests that come. */
  answer(...answers: ScriptedAnswer[]): void {
    this.script.push(...answers);
  }

  /** Forgets the requests and answers of the test before. */
  reset(): void {
    this.requests.length = 0;
    this.script.length = 0;
  }

  get unused(): number {
    return this.script.length;
  }

  stop(): void {
    this.server.stop(true);
  }

  private async handle(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (request.method !== "POST" || path !== "/v1/chat/completions") return Response.json({ error: { message: `no route ${request.method} ${path}` } }, { status: 404 });
    this.requests.push({ at: this.now(), path, authorization: request.headers.get("authorization"), body: await request.json() });
    const next = this.script.shift();
    if (!next) return Response.json({ error: { message: "fake model server: no scripted answer left" } }, { status: 418 });
    if (next.delayMs) await Bun.sleep(next.delayMs);
    const body = typeof next.body === "string" ? next.body : JSON.stringify(next.body);
    return new Response(body, { status: next.status ?? 200, headers: { "content-type": "application/json", ...next.headers } });
  }
}

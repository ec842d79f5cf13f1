/** The one tool the model gets, `ask_user`, and how its calls are read. */
import { choiceLength, MAX_CHOICE_LENGTH, MAX_CHOICES } from "../../runtime/choices.ts";
import type { FunctionTool, ToolCall } from "./wire.ts";

export const ASK_USER = "ask_user";

export const askUserTool: FunctionTool = {
  type: "function",
  function: {
    name: ASK_USER,
    description:
      "Ask the user a question in the chat and wait for their answer, which is returned to you. Use it when you need something only the user can tell you. Give choices when the answer is one of a few short options: they are shown as buttons, and the user may still type something else.",
    parameters: {
      type: "object",
      properties: {
        question: { type: "string", description: "The question, as the user will read it." },
        choices: {
          type: "array",
          items: { type: "string" },
          description: `Optional short answers shown as buttons (at most ${MAX_CHOICES}, each at most ${MAX_CHOICE_LENGTH} characters).`,
        },
      },
      required: ["question"],
    },
  },
};

/** What a tool call asks for: a question for the user, or an error to report back to the model. */
export type ToolRequest = { kind: "ask"; question: string; choices: string[] | undefined } | { kind: "error"; message: string };

const USAGE = `ask_user takes {"question": string, "choices"?: string[]}`;

/** Reads one tool call of the model's answer; never throws (a bad call is the model's to fix). */
export function toolRequestOf(call: ToolCall): ToolRequest {
  if (call.function.name !== ASK_USER) return { kind: "error", message: `Error: there is no tool named ${JSON.stringify(call.function.name)}; the only tool is ${ASK_USER}.` };
  let args: unknown;
  try {
    args = JSON.parse(call.function.arguments || "{}");
  } catch {
    return { kind: "error", message: `Error: the arguments are not valid JSON (${JSON.stringify(call.function.arguments.slice(0, 200))}); ${USAGE}.` };
  }
  if (typeof args !== "object" || args === null || Array.isArray(args)) return { kind: "error", message: `Error: the arguments must be a JSON object; ${USAGE}.` };
  const { question, choices } = args as Record<string, unknown>;
  if (typeof question !== "string" || question.trim() === "") return { kind: "error", message: `Error: "question" must be a non-empty string; ${USAGE}.` };
  if (choices === undefined || choices === null || (Array.isArray(choices) && choices.length === 0)) return { kind: "ask", question: question.trim(), choices: undefined };
  if (!Array.isArray(choices) || choices.length > MAX_CHOICES) return { kind: "error", message: `Error: "choices" must be an array of 1 to ${MAX_CHOICES} strings; ${USAGE}.` };
  const trimmed: string[] = [];
  for (const choice of choices) {
    const text = typeof choice === "string" ? choice.trim() : "";
    if (text === "" || choiceLength(text) > MAX_CHOICE_LENGTH) return { kind: "error", message: `Error: each choice must be a string of 1 to ${MAX_CHOICE_LENGTH} characters, got ${JSON.stringify(choice)}; ${USAGE}.` };
    trimmed.push(text);
  }
  return { kind: "ask", question: question.trim(), choices: trimmed };
}

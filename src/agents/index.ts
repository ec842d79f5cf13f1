import type { Agent } from "../runtime/context.ts";
import { coach } from "./coach.ts";
import { echo } from "./echo.ts";
import { llmAgent } from "./llm/agent.ts";

/** Built-in agents by the name AGENT selects. Your own agent is a module file instead (AGENT=./bot.ts). */
export const agents = { coach, echo } satisfies Record<string, Agent>;

/** Built-ins made from their configuration when the service starts (src/app.ts). */
export const configuredAgents = { llm: llmAgent };

export type RegisteredAgent = keyof typeof agents | keyof typeof configuredAgents;

/** The names AGENT accepts (lower case). */
export const agentNames = [...Object.keys(agents), ...Object.keys(configuredAgents)] as RegisteredAgent[];

export function isBuiltInAgent(name: string): name is RegisteredAgent {
  return Object.hasOwn(agents, name) || Object.hasOwn(configuredAgents, name);
}

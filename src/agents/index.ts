import type { Agent } from "../runtime/context.ts";
import { coach } from "./coach.ts";
import { echo } from "./echo.ts";

/** Built-in agents by the name AGENT selects. Your own agent is a module file instead (AGENT=./bot.ts). */
export const agents = { coach, echo } satisfies Record<string, Agent>;

export type RegisteredAgent = keyof typeof agents;

/** The names AGENT accepts (lower case). */
export const agentNames = Object.keys(agents) as RegisteredAgent[];

export function isBuiltInAgent(name: string): name is RegisteredAgent {
  return Object.hasOwn(agents, name);
}

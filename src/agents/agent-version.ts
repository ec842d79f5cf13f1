import { createHash } from "node:crypto";
import type { Agent } from "../runtime/context.ts";

/** The agent's own `version`, else a short hash of its function's source. */
export function agentVersionOf(agent: Agent): string {
  if (typeof agent.version === "string" && agent.version.trim() !== "") return agent.version.trim();
  return createHash("sha256").update(agent.toString()).digest("hex").slice(0, 12);
}

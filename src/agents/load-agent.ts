import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { versionLine } from "../build-info.ts";
import { ConfigError } from "../config.ts";
import type { Agent } from "../runtime/context.ts";
import { agents, configuredAgents, isBuiltInAgent } from "./index.ts";
import { provideTimbreModule } from "./timbre-module.ts";
import { thrownMessage } from "../observability/log.ts";

/** The agent a service runs, with what each run records about it. */
export interface LoadedAgent {
  /** A built-in agent's name, or the absolute path of the agent module. */
  name: string;
  agent: Agent;
  /**
   * The module's `version` string (a property of its default export, or a named export; trimmed),
   * else the first 12 hex digits of the sha256 of the module file's source. Built-ins: timbre's version line.
   */
  version: string;
}

/** An agent module that cannot serve; the message is the one line printed before exiting 1. */
export class AgentLoadError extends ConfigError {
  override name = "AgentLoadError";
}

/** How the built-ins that need their configuration (configuredAgents in ./index.ts) are made. */
export type ConfiguredAgentMakers = { [Name in keyof typeof configuredAgents]?: () => Agent };

/** Loads what Config.agent names: a built-in (see ./index.ts) or an agent module's absolute path. */
export async function loadAgent(agent: string, configured: ConfiguredAgentMakers = {}): Promise<LoadedAgent> {
  if (Object.hasOwn(configuredAgents, agent)) {
    const make = configured[agent as keyof typeof configuredAgents];
    if (!make) throw new AgentLoadError(`AGENT=${agent} needs its configuration to start here`);
    return { name: agent, agent: make(), version: timbreVersion() };
  }
  if (isBuiltInAgent(agent)) return { name: agent, agent: agents[agent as keyof typeof agents], version: timbreVersion() };
  return loadAgentModule(agent);
}

/** An agent handed over in code (tests): its `version`, else a hash of its function's source. */
export function agentFromCode(name: string, agent: Agent): LoadedAgent {
  return { name, agent, version: typeof agent.version === "string" && agent.version.trim() !== "" ? agent.version.trim() : sourceHash(String(agent)) };
}

let cachedVersionLine: string | undefined;
/** From source this asks git once per process, not once per service a test starts. */
function timbreVersion(): string {
  return (cachedVersionLine ??= versionLine());
}

function sourceHash(source: string | Uint8Array): string {
  return createHash("sha256").update(source).digest("hex").slice(0, 12);
}

/** One line of an error's message: no stack, no code frame. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

function describe(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  const kind = Array.isArray(value) ? "array" : typeof value;
  return `${/^[aeiou]/.test(kind) ? "an" : "a"} ${kind}`;
}

/** Where a transpile error is, when Bun says (BuildMessage.position). */
function positionOf(error: unknown): string {
  const position = (error as { position?: { line?: number; column?: number } | null }).position;
  return position?.line ? ` (line ${position.line}, column ${position.column ?? 0})` : "";
}

async function loadAgentModule(path: string): Promise<LoadedAgent> {
  const named = `AGENT=${JSON.stringify(path)}`;
  // The file's bytes: its version is the sha256 of exactly them (text decoding would fold bytes that are not UTF-8).
  let source: Buffer;
  try {
    source = readFileSync(path);
  } catch (error) {
    throw new AgentLoadError(`${named} could not be read: ${oneLine(thrownMessage(error))}`);
  }
  provideTimbreModule();
  let module: Record<string, unknown>;
  // A promise its top-level code left rejected (`void connect()`) is a failed load too, not a crash.
  const rejected: unknown[] = [];
  const onRejection = (reason: unknown) => void rejected.push(reason);
  process.on("unhandledRejection", onRejection);
  try {
    module = (await import(path)) as Record<string, unknown>;
    // Rejections nothing handled are reported once the microtasks have run.
    await new Promise((resolve) => setImmediate(resolve));
    if (rejected.length > 0) throw rejected[0];
  } catch (error) {
    // Bun rejects with a BuildMessage (syntax) or a ResolveMessage (an import it cannot find);
    // anything else was thrown by the module's own top-level code.
    const bunMessage = typeof BuildMessage !== "undefined" && (error instanceof BuildMessage || error instanceof ResolveMessage);
    const message = error instanceof Error || bunMessage ? (error as { message: string }).message : String(error);
    const cause = oneLine(`${message}${bunMessage ? positionOf(error) : ""}`);
    throw new AgentLoadError(bunMessage ? `${named} could not be loaded: ${cause}` : `${named} threw while loading: ${error instanceof Error ? `${error.name}: ` : ""}${cause}`);
  } finally {
    process.off("unhandledRejection", onRejection);
  }
  const agent = module.default;
  // A class is a function to typeof, but calling it without `new` throws in every run.
  const isClass = typeof agent === "function" && /^class[\s{]/.test(Function.prototype.toString.call(agent));
  if (typeof agent !== "function" || isClass) {
    const found = isClass ? "its default export is a class" : "default" in module ? `its default export is ${describe(agent)}` : "it has no default export";
    throw new AgentLoadError(`${named} is invalid: ${found}; expected the agent function, as in export default async (ctx) => { await ctx.reply("hi"); }`);
  }
  const instantReply = (agent as Agent).instantReply;
  if (instantReply !== undefined && typeof instantReply !== "function") {
    throw new AgentLoadError(`${named} is invalid: its instantReply is ${describe(instantReply)}; expected a function (text, user) => string | undefined`);
  }
  const version = (agent as Agent).version ?? module.version;
  if (version !== undefined && (typeof version !== "string" || version.trim() === "")) {
    throw new AgentLoadError(`${named} is invalid: its version is ${describe(version)}${typeof version === "string" ? " (empty)" : ""}; expected a non-empty string such as "2024-06-01"`);
  }
  return { name: path, agent: agent as Agent, version: version?.trim() ?? sourceHash(source) };
}

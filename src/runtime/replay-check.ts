import { Database } from "bun:sqlite";
import { runAsync } from "../db/op.ts";
import { systemClock } from "../clock.ts";
import { textOf, userOf } from "../ingest/update-fields.ts";
import { agentContext, type RunEffects } from "./agent-context.ts";
import { AskTimeoutError, StepFailedError, type Agent, type TelegramUpdate } from "./context.ts";
import { Execution, type ExecutionOutcome } from "./engine.ts";
import { memoryAtStart } from "./run-effects.ts";
import { prepareRunStore, type RunRow, type RunStore } from "./run-store.ts";
import { thrownMessage } from "../observability/log.ts";

/** A run whose journal the current agent would not replay. */
export interface ReplayProblem {
  run: Pick<RunRow, "id" | "conversation" | "agent" | "agentVersion" | "status">;
  /** The first mismatching step, or what the agent did instead of replaying. */
  problem: string;
}

/** How long one run's replay may take (agent code between ctx calls that hangs). */
const RUN_CHECK_MS = 10_000;

/** Check mode never reaches a new call: the execution ends where the journal does. */
const noEffects: RunEffects = new Proxy({} as RunEffects, {
  // Reaching a position that still waits is where a check of a waiting run ends: nothing to write.
  get: (_, name) => (name === "waitAgain" ? () => Promise.resolve() : () => Promise.reject(new Error("replay-check does nothing new"))),
});

function problemOf(outcome: ExecutionOutcome | "timeout"): string | undefined {
  if (outcome === "timeout") return `the agent did not reach the end of the journal within ${RUN_CHECK_MS / 1000} s (code between ctx calls that waits on something?)`;
  if (outcome.kind === "mismatch") return outcome.error.message;
  if (outcome.kind === "own-failure") return `timbre could not read what the run needs: ${outcome.error instanceof Error ? outcome.error.message : String(outcome.error)}`;
  if (outcome.kind === "threw") {
    const error = outcome.error;
    // A question recorded as timed out, or a step recorded as failed, throws as it did when it was
    // recorded: the run ends failed as its journal says, which replays fine.
    if (error instanceof AskTimeoutError || error instanceof StepFailedError) return undefined;
    return `the agent throws while replaying: ${error instanceof Error ? `${error.name}: ${error.message}` : thrownMessage(error)}`;
  }
  return undefined;
}

/**
 * Replays the journal of every running or waiting run against `agent`, reading the database
 * only (no instance lock, no writes, nothing sent), and returns the runs that would not replay.
 */
export async function replayCheck(databasePath: string, agent: Agent): Promise<ReplayCheckResult> {
  const sqlite = new Database(databasePath, { readonly: true });
  try {
    return await replayCheckRuns(prepareRunStore(sqlite), agent);
  } finally {
    sqlite.close();
  }
}

export interface ReplayCheckResult {
  checked: number;
  problems: ReplayProblem[];
}

/** replayCheck over a run store of either engine (on PostgreSQL, a read-only connection's). */
export async function replayCheckRuns(store: RunStore, agent: Agent): Promise<ReplayCheckResult> {
  const active = [...(await runAsync(store.runsWithStatus("running"))), ...(await runAsync(store.runsWithStatus("waiting")))].sort((a, b) => a.id - b.id);
  const problems: ReplayProblem[] = [];
  for (const run of active) {
    const update = JSON.parse(run.trigger) as TelegramUpdate;
    const execution = new Execution(await runAsync(store.journal(run.id)), "check");
    const memory = await runAsync(memoryAtStart(store, run));
    const ctx = agentContext({
      run,
      update,
      text: textOf(update),
      user: userOf(update),
      memory: () => memory,
      signal: new AbortController().signal,
      execution,
      effects: noEffects,
      clock: systemClock,
      askTimeoutMs: 0,
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      execution.run(() => agent(ctx)),
      new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), RUN_CHECK_MS))),
    ]);
    clearTimeout(timer);
    const problem = problemOf(outcome);
    if (problem) problems.push({ run: { id: run.id, conversation: run.conversation, agent: run.agent, agentVersion: run.agentVersion, status: run.status }, problem });
  }
  return { checked: active.length, problems };
}

/** One line per problem, as `timbre replay-check` prints them. */
export function problemLine({ run, problem }: ReplayProblem): string {
  return `run ${run.id} (conversation ${run.conversation}, ${run.status}, started by ${run.agent}${run.agentVersion ? ` ${run.agentVersion}` : ""}): ${problem}`;
}

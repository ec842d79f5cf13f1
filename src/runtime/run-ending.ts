import { isTransientStorageError } from "../db/storage-error.ts";
import { AskTimeoutError } from "./context.ts";
import type { ExecutionOutcome } from "./engine.ts";
import type { RuntimeText } from "./messages.ts";
import { isRunCancelled } from "./run-cancelled.ts";

/** What an execution's outcome makes of its run. */
export type RunEnding =
  /** Nothing to record: it waits (suspended), it was cancelled, or a check caught up. */
  | { kind: "none" }
  | { kind: "done" }
  /** The database failed under the run, not the agent: replay it once writes work again. */
  | { kind: "replay"; error: unknown }
  /** The run fails: the log line, and the one message the user gets. */
  | { kind: "failed"; error: unknown; log: string; tell: RuntimeText };

export function runEndingOf(outcome: ExecutionOutcome): RunEnding {
  if (outcome.kind === "suspended" || outcome.kind === "caught-up") return { kind: "none" };
  if (outcome.kind === "returned") return { kind: "done" };
  const error = outcome.error;
  if (outcome.kind === "mismatch") return { kind: "failed", error, log: "run failed: the agent's code no longer matches the run's journal", tell: "updated" };
  if (isRunCancelled(error)) return { kind: "none" };
  // Only timbre's own storage failing replays the run; an agent's own database failing is its failure.
  if (outcome.kind === "own-failure" && isTransientStorageError(error)) return { kind: "replay", error };
  if (error instanceof AskTimeoutError) return { kind: "failed", error, log: "run failed: a question timed out", tell: "timedOut" };
  return { kind: "failed", error, log: "run failed: the agent threw", tell: "failed" };
}

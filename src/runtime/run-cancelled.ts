import { RunCancelledError } from "./context.ts";

/** The RunCancelledErrors timbre raises itself, each for a run that was cancelled. */
const raised = new WeakSet<RunCancelledError>();

/**
 * The error ctx calls (and the run's abort signal) give a cancelled run. An agent may construct
 * a RunCancelledError of its own (the class is exported): throwing that one on a run nobody
 * cancelled is a failure like any other throw, not a cancel.
 */
export function runCancelled(): RunCancelledError {
  const error = new RunCancelledError();
  raised.add(error);
  return error;
}

/** True for an error runCancelled made: the run was cancelled, there is nothing to record. */
export function isRunCancelled(error: unknown): boolean {
  return error instanceof RunCancelledError && raised.has(error);
}

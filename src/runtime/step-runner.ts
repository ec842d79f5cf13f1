import type { Clock } from "../clock.ts";
import type { StepOptions } from "./context.ts";
import { thrownMessage } from "../observability/log.ts";
import { runCancelled } from "./run-cancelled.ts";

/** How a step's function ended once its retries were done. */
export type StepOutcome =
  | { ok: true; json: string | null; attempts: number; startedAt: number }
  | { ok: false; message: string; attempts: number; startedAt: number };

/** A step's failed attempts so far, and when the next may start. */
export interface FailedAttempts {
  attempts: number;
  retryAt: number;
  /** The last attempt's error. */
  message: string;
  /** When the first attempt began. */
  startedAt: number;
}

export interface StepProgress {
  /** What an earlier execution recorded between attempts: the count goes on from there. */
  resumeFrom?: FailedAttempts;
  /** Records a failed attempt, its run waiting until `retryAt` (as a sleep does). */
  failed(failed: FailedAttempts): Promise<void>;
  /** Aborts when the service stops: no attempt starts that could not be recorded. */
  stopping?: AbortSignal;
}

/**
 * The step is between two attempts and this execution ends: its run waits for the backoff's end
 * holding no slot (a failed attempt was recorded), or the service is stopping. Either way the
 * next execution goes on from the journal.
 */
export const BETWEEN_ATTEMPTS = "between-attempts";

const MAX_BACKOFF_MS = 60_000;

export interface StepRetries {
  retries: number;
  backoffMs: number;
}

/** A step's options, checked before the step takes its journal position (a bad one throws and records nothing). */
export function checkedStepOptions(name: string, options: StepOptions): StepRetries {
  const retries = options.retries ?? 3;
  const backoffSeconds = options.backoffSeconds ?? 1;
  if (!Number.isInteger(retries) || retries < 0 || retries > 100) throw new TypeError(`ctx.step("${name}"): retries must be a whole number from 0 to 100, got ${retries}`);
  if (!Number.isFinite(backoffSeconds) || backoffSeconds < 0) throw new TypeError(`ctx.step("${name}"): backoffSeconds must be a number >= 0, got ${backoffSeconds}`);
  return { retries, backoffMs: backoffSeconds * 1000 };
}

/** The result as its journal holds it: JSON text, or null for undefined; a message when it is not serialisable (the agent's bug). */
function serialise(name: string, value: unknown): { json: string | null } | { unserialisable: string } {
  try {
    return { json: JSON.stringify(value) ?? null };
  } catch (error) {
    return { unserialisable: `ctx.step("${name}"): its result is not JSON-serialisable (${thrownMessage(error)})` };
  }
}

/**
 * Calls a step's function until it returns or one attempt fails. A failed attempt with retries
 * left is recorded with the backoff's end (`backoffSeconds`, doubling, capped at 60 s) and ends
 * the execution there: the run waits like a sleeping one, and its next execution resumes from
 * the count recorded, after the backoff (also after a restart). Cancelling the run stops the retries.
 */
export async function runStepFunction<T>(
  name: string,
  fn: () => T | Promise<T>,
  { retries, backoffMs }: StepRetries,
  clock: Clock,
  signal: AbortSignal,
  progress: StepProgress,
): Promise<StepOutcome | typeof BETWEEN_ATTEMPTS> {
  const { stopping } = progress;
  const resumed = progress.resumeFrom;
  const startedAt = resumed?.startedAt ?? clock.now();
  if (resumed) {
    // The code may have lowered `retries` since: attempts already spent are not made again.
    if (resumed.attempts > retries) return { ok: false, message: resumed.message, attempts: resumed.attempts, startedAt };
    // A next attempt not due yet never gets here: ctx.step makes the run wait for it (waitAgain).
  }
  const attempt = (resumed?.attempts ?? 0) + 1;
  // An attempt started while the service stops could end after the process does, unrecorded.
  if (stopping?.aborted) return BETWEEN_ATTEMPTS;
  let value: T;
  try {
    value = await fn();
  } catch (error) {
    if (signal.aborted) throw runCancelled();
    // As the journal will keep it (UTF-8: a lone surrogate becomes U+FFFD), so a replay throws the same.
    const message = thrownMessage(error).toWellFormed();
    if (attempt > retries) return { ok: false, message, attempts: attempt, startedAt };
    const retryAt = clock.now() + Math.min(MAX_BACKOFF_MS, backoffMs * 2 ** (attempt - 1));
    await progress.failed({ attempts: attempt, retryAt, message, startedAt });
    return BETWEEN_ATTEMPTS;
  }
  // A result that is not JSON fails the step at once (retrying would not change it), journaled
  // as failed like any other: the position is recorded, so the run still replays.
  const result = serialise(name, value);
  if ("unserialisable" in result) return { ok: false, message: result.unserialisable, attempts: attempt, startedAt };
  return { ok: true, json: result.json, attempts: attempt, startedAt };
}

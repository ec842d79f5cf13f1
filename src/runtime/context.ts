/**
 * timbre's agent API: what an agent module imports from "timbre" and what `timbre types`
 * prints. Self-contained on purpose (no imports), so its declarations stand alone.
 */

/** An update as Telegram sent it (see the Bot API's Update object). */
export type TelegramUpdate = { update_id: number } & Record<string, unknown>;

/** The user a run talks to. */
export interface AgentUser {
  id: number;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
}

/** sendMessage options besides chat_id and text: parse_mode, reply_markup, link_preview_options... */
export type ReplyOptions = Record<string, unknown>;

export interface AskOptions extends ReplyOptions {
  /** Overrides ASK_TIMEOUT_SECONDS for this question: seconds above 0, at most a year. */
  timeoutSeconds?: number;
  /**
   * One inline button per choice (at most 100, each 1-64 characters when trimmed). A tap by the
   * asking user answers with that choice's text; a typed answer still counts.
   */
  choices?: string[];
}

export interface StepOptions {
  /** Attempts after the first when `fn` throws (default 3). */
  retries?: number;
  /** The wait before the first retry, doubling after each, capped at 60 s (default 1). */
  backoffSeconds?: number;
}

/**
 * What an agent gets for one run in one conversation (one user in one chat).
 *
 * Runs are durable: every `reply`, `ask`, `step`, `sleep` and `remember` is written to the
 * run's journal before the run goes on. Whenever the run must continue in a new execution
 * (after a restart, also `kill -9`, and each time an answer or a timer wakes a waiting run) the
 * agent function is called again from the start, and each call already in the journal returns
 * its recorded result without doing anything: a reply is not sent again, a question is not asked
 * again, a step's function is not called again. This is the replay rule; it asks of agent code:
 * - make the same ctx calls in the same order on every execution; decide from `text`, `update`,
 *   `memory`, answers and step results. At each recorded position the kind and the text (reply,
 *   ask) or the name (step) must match, else the run fails with ReplayMismatchError;
 * - put every effect and every non-deterministic value (a model call, an HTTP request,
 *   `Date.now()`, `Math.random()`) inside `ctx.step`: code between ctx calls runs again on
 *   every replay;
 * - await each ctx call; make no calls after the function returns.
 */
export interface AgentContext<Memory = unknown> {
  /** The run's id (see /admin/runs). */
  readonly runId: number;
  /** The text of the message that started the run; undefined for updates without text. */
  readonly text: string | undefined;
  readonly chatId: number;
  /** Who sent the update; undefined for updates without a sender. */
  readonly user: AgentUser | undefined;
  /** The whole update as Telegram sent it. */
  readonly update: TelegramUpdate;
  /** Aborted when the run is cancelled (/cancel or the admin API). */
  readonly signal: AbortSignal;
  /**
   * The conversation's durable memory as it was when this run started (undefined at first).
   * Later runs of the conversation see what this one remembers.
   */
  readonly memory: Memory | undefined;
  /** Sends a message through the durable outbox, where the trigger came from (topic, business chat). */
  reply(text: string, options?: ReplyOptions): Promise<void>;
  /**
   * Sends the question and resolves with the same user's next text in this conversation (or
   * the choice they tap). Throws AskTimeoutError when no answer comes within
   * ASK_TIMEOUT_SECONDS (catch it to carry on), and RunCancelledError when the run is cancelled.
   */
  ask(question: string, options?: AskOptions): Promise<string>;
  /**
   * Runs `fn` once and journals its result (JSON-serialisable; you get it back as JSON would
   * give it). On replay it returns the recorded result without calling `fn`. A throwing `fn` is
   * retried; when the retries are spent it throws StepFailedError, and so does every replay.
   * A crash while `fn` runs runs it again: make the effect idempotent where you can.
   */
  step<T>(name: string, fn: () => T | Promise<T>, options?: StepOptions): Promise<T>;
  /** A durable timer: the run holds no concurrency slot while it sleeps and wakes on time, also after a restart. */
  sleep(seconds: number): Promise<void>;
  /** Replaces the conversation's memory (any JSON value, at most 256 KiB of JSON) as a journaled step. */
  remember(value: Memory): Promise<void>;
}

/**
 * An agent handles one run; returning ends the run as done, throwing ends it as failed.
 *
 * Optionally, `instantReply` answers some texts at once without starting a run (the coach's
 * `/start`): return the reply text, or undefined to route the text as usual. It is consulted
 * when the text would otherwise start a run or answer a pending question (the question then
 * stays pending); while a run is busy the text waits its turn like any other.
 *
 * `version` names this agent's code in each run it starts (see /admin/runs); without it timbre
 * uses a hash of the agent's source.
 */
export type Agent<Memory = any> = ((ctx: AgentContext<Memory>) => Promise<void> | void) & {
  instantReply?: (text: string, user: AgentUser | undefined) => string | undefined;
  version?: string;
};

/** `ask` got no answer in time. Uncaught, the run fails and the user is told it timed out. */
export class AskTimeoutError extends Error {
  override name = "AskTimeoutError";
  constructor(readonly question: string) {
    super(`no answer to "${question.slice(0, 80)}" in time`);
  }
}

/** The run was cancelled; further ctx calls throw this. */
export class RunCancelledError extends Error {
  override name = "RunCancelledError";
  constructor() {
    super("the run was cancelled");
  }
}

/** On replay, the agent made a different call than the journal recorded at this position. */
export class ReplayMismatchError extends Error {
  override name = "ReplayMismatchError";
}

/** A step's function kept throwing until its retries were spent; replays throw the same. */
export class StepFailedError extends Error {
  override name = "StepFailedError";
  constructor(
    readonly step: string,
    message: string,
    readonly attempts: number,
  ) {
    super(message);
  }
}

import type { TelegramUpdate } from "../ingest/update-shape.ts";

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
  /** Overrides ASK_TIMEOUT_SECONDS for this question. */
  timeoutSeconds?: number;
}

/**
 * What an agent gets for one run in one conversation (one user in one chat).
 *
 * Runs are durable: every `reply` and `ask` is written to the run's journal before it takes
 * effect. After a restart (also `kill -9`) the agent function is called again from the start,
 * and each step already in the journal returns its recorded result without sending anything:
 * a reply is not sent again, a question is not asked again, an answered `ask` returns its
 * answer at once. This is the replay rule, and it asks three things of agent code:
 * - make the same `reply`/`ask` calls in the same order on every execution: decide from
 *   `text`, `update` and the answers, not from the clock, randomness or outside state that may
 *   have changed (a different call at a recorded step fails the run with ReplayMismatchError);
 * - have effects on the user only through `ctx`; anything else you do between two steps
 *   (an HTTP call, a file write) runs again on replay, so make it idempotent or cheap;
 * - await each `reply`/`ask` before the next one, and make no calls after the function returns.
 */
export interface AgentContext {
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
  /** Sends a message through the durable outbox (in the same forum topic as the trigger). */
  reply(text: string, options?: ReplyOptions): Promise<void>;
  /**
   * Sends the question and resolves with the same user's next text in this chat. Throws
   * AskTimeoutError when no answer comes within ASK_TIMEOUT_SECONDS (catch it to carry on),
   * and RunCancelledError when the run is cancelled.
   */
  ask(question: string, options?: AskOptions): Promise<string>;
}

/**
 * An agent handles one run; returning ends the run as done, throwing ends it as failed.
 *
 * Optionally, `instantReply` answers some texts at once without starting a run (the coach's
 * `/start`): return the reply text, or undefined to route the text as usual. It is consulted
 * when the text would otherwise start a run or answer a pending question (the question then
 * stays pending); while a run is busy the text waits its turn like any other.
 */
export type Agent = ((ctx: AgentContext) => Promise<void>) & {
  instantReply?: (text: string, user: AgentUser | undefined) => string | undefined;
};

/** `ask` got no answer in time. Uncaught, the run fails and the user is told it timed out. */
export class AskTimeoutError extends Error {
  override name = "AskTimeoutError";
  constructor(readonly question: string) {
    super(`no answer to "${question.slice(0, 80)}" in time`);
  }
}

/** The run was cancelled; further `reply`/`ask` calls throw this. */
export class RunCancelledError extends Error {
  override name = "RunCancelledError";
  constructor() {
    super("the run was cancelled");
  }
}

/** On replay, the agent made a different call than the journal recorded at this step. */
export class ReplayMismatchError extends Error {
  override name = "ReplayMismatchError";
}

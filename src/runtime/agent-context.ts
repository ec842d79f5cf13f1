import { AsyncLocalStorage } from "node:async_hooks";
import type { Clock } from "../clock.ts";
import {
  AskTimeoutError,
  StepFailedError,
  type AgentContext,
  type AgentUser,
  type AskOptions,
  type ReplyOptions,
  type StepOptions,
  type TelegramUpdate,
} from "./context.ts";
import type { Execution } from "./engine.ts";
import type { JournalEntry } from "./journal.ts";
import { checkedStepOptions, runStepFunction, BETWEEN_ATTEMPTS, type FailedAttempts, type StepOutcome } from "./step-runner.ts";
import { runCancelled } from "./run-cancelled.ts";
import { thrownMessage } from "../observability/log.ts";
import { choiceLength, MAX_CHOICE_LENGTH, MAX_CHOICES } from "./choices.ts";

/** The most JSON ctx.remember keeps. */
export const MEMORY_LIMIT_BYTES = 256 * 1024;
/** The longest a question may wait (ASK_TIMEOUT_SECONDS has the same bound). */
const MAX_ASK_TIMEOUT_SECONDS = 365 * 86_400;
/** The longest sleep: ten years (a deadline must stay a date the journal and the admin API can show). */
const MAX_SLEEP_SECONDS = 10 * 365 * 86_400;

/** How new journal entries are committed, each with its effect (the runtime writes them). */
export interface RunEffects {
  reply(seq: number, text: string, options: ReplyOptions): Promise<void>;
  /** The question times out `timeoutMs` after it is recorded. */
  ask(seq: number, question: string, ask: { timeoutMs: number; choices: string[] | undefined; options: ReplyOptions }): Promise<void>;
  step(seq: number, name: string, outcome: StepOutcome): Promise<void>;
  /** A step's attempt failed and another comes at `retryAt`: recorded, so a restart goes on counting. */
  stepRetrying(seq: number, name: string, failed: FailedAttempts): Promise<void>;
  /** The sleep ends `ms` after it is recorded. */
  sleep(seq: number, ms: number): Promise<void>;
  remember(seq: number, json: string): Promise<void>;
  /**
   * A replay reached a position that still waits (a question not answered, a sleep not over, a
   * step's next attempt not due): woken for something else, the run waits again, holding no slot.
   */
  waitAgain(): Promise<void>;
}

export interface ContextParts {
  run: { id: number; chatId: number };
  update: TelegramUpdate;
  text: string | undefined;
  user: AgentUser | undefined;
  /** The memory the run started with, read when first asked for. */
  memory: () => unknown;
  signal: AbortSignal;
  /** Aborts when the service stops: a step makes no new attempt then (the next start goes on from its journal). */
  stopping?: AbortSignal;
  execution: Execution;
  effects: RunEffects;
  clock: Clock;
  /** ASK_TIMEOUT_SECONDS in ms. */
  askTimeoutMs: number;
}

/** Set while a step's function runs, so a ctx call inside it (which replay would skip) is refused. */
const insideStep = new AsyncLocalStorage<Execution>();

function checkedChoices(choices: unknown): string[] | undefined {
  if (choices === undefined) return undefined;
  if (!Array.isArray(choices) || choices.length === 0 || choices.length > MAX_CHOICES) throw new TypeError(`ctx.ask: choices must be an array of 1 to ${MAX_CHOICES} strings`);
  return choices.map((choice) => {
    const text = typeof choice === "string" ? choice.trim() : "";
    if (text === "" || choiceLength(text) > MAX_CHOICE_LENGTH) throw new TypeError(`ctx.ask: each choice must be a string of 1 to ${MAX_CHOICE_LENGTH} characters, got ${JSON.stringify(choice)}`);
    return text;
  });
}

/** A value as an error message quotes it: numbers as JavaScript writes them (NaN, Infinity), the rest as JSON. */
function shown(value: unknown): string {
  return typeof value === "number" ? String(value) : JSON.stringify(value);
}

function checkedText(what: string, text: unknown): string {
  if (typeof text !== "string" || text.trim() === "") throw new TypeError(`${what} needs a non-empty string, got ${JSON.stringify(text)}`);
  return text;
}

function memoryJson(value: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(`ctx.remember: the value is not JSON-serialisable (${thrownMessage(error)})`);
  }
  if (json === undefined) throw new TypeError("ctx.remember: the value must be a JSON value (undefined, functions and symbols are not)");
  const bytes = Buffer.byteLength(json);
  if (bytes > MEMORY_LIMIT_BYTES) throw new RangeError(`ctx.remember: the value is ${Math.ceil(bytes / 1024)} KiB of JSON; memory holds at most 256 KiB`);
  return json;
}

function replayedStep(name: string, recorded: JournalEntry): unknown {
  if (recorded.state === "failed") throw new StepFailedError(name, recorded.error ?? "", recorded.attempts ?? 1);
  return recorded.result === null ? undefined : JSON.parse(recorded.result);
}

/** ctx for one execution: each ctx call takes its journal position, then replays the record or does the work and records it. */
export function agentContext(parts: ContextParts): AgentContext {
  const { execution: x, effects, clock } = parts;
  const position: Execution["position"] = (kind, key) => {
    if (insideStep.getStore() === x) return Promise.reject(new Error(`ctx.${kind} inside a step's function: replay skips the function, so call ctx outside it`));
    return x.position(kind, key);
  };
  // Timbre's own writes for the run: a failure there decides the outcome, whatever the agent does with it.
  const own = <T>(written: Promise<T>): Promise<T> =>
    written.catch((error: unknown) => {
      x.ownFailure(error);
      throw error;
    });
  // The memory's read is timbre's too.
  const memoryAtStart = (): unknown => {
    try {
      return parts.memory();
    } catch (error) {
      x.ownFailure(error);
      throw error;
    }
  };
  // A replay reached a position that still waits (woken for something else): the run waits again.
  const waitAgain = async (): Promise<never> => {
    await x.effect(own(effects.waitAgain()));
    return x.suspend();
  };
  return {
    runId: parts.run.id,
    text: parts.text,
    chatId: parts.run.chatId,
    user: parts.user,
    update: parts.update,
    signal: parts.signal,
    get memory() {
      return memoryAtStart();
    },

    async reply(text: string, options: ReplyOptions = {}) {
      checkedText("ctx.reply", text);
      const { seq, recorded } = await position("reply", text);
      if (!recorded) await x.effect(own(effects.reply(seq, text, options)));
    },

    async ask(question: string, options: AskOptions = {}) {
      checkedText("ctx.ask", question);
      const { timeoutSeconds, choices, ...sendOptions } = options;
      const checked = checkedChoices(choices);
      if (timeoutSeconds !== undefined && (typeof timeoutSeconds !== "number" || !Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0 || timeoutSeconds > MAX_ASK_TIMEOUT_SECONDS)) {
        throw new TypeError(`ctx.ask: timeoutSeconds must be a number of seconds above 0 and at most ${MAX_ASK_TIMEOUT_SECONDS} (a year), got ${shown(timeoutSeconds)}`);
      }
      const { seq, recorded } = await position("ask", question);
      if (!recorded) {
        const timeoutMs = timeoutSeconds !== undefined ? timeoutSeconds * 1000 : parts.askTimeoutMs;
        await x.effect(own(effects.ask(seq, question, { timeoutMs, choices: checked, options: sendOptions })));
        return x.suspend();
      }
      if (recorded.state === "answered") return recorded.answer ?? "";
      if (recorded.state === "timed_out") throw new AskTimeoutError(question);
      if (recorded.state === "cancelled") throw runCancelled();
      return waitAgain();
    },

    async step<T>(name: string, fn: () => T | Promise<T>, options: StepOptions = {}): Promise<T> {
      checkedText("ctx.step", name);
      const retries = checkedStepOptions(name, options);
      const { seq, recorded } = await position("step", name);
      if (recorded && recorded.state !== "retrying") return replayedStep(name, recorded) as T;
      // Woken before its next attempt is due (for a question or a sleep beside it): wait again.
      // A check (replay-check) makes no attempt: the journal ends there.
      if (recorded && (x.mode === "check" || ((recorded.deadlineAt ?? 0) > clock.now() && (recorded.attempts ?? 0) <= retries.retries))) {
        return waitAgain();
      }
      // A step that was between attempts when the process stopped goes on from the attempts it made.
      const progress = {
        resumeFrom: recorded && { attempts: recorded.attempts ?? 0, retryAt: recorded.deadlineAt ?? 0, message: recorded.error ?? "", startedAt: recorded.createdAt },
        failed: (failed: FailedAttempts) => own(effects.stepRetrying(seq, name, failed)),
        ...(parts.stopping ? { stopping: parts.stopping } : {}),
      };
      const outcome = await x.effect(
        insideStep.run(x, () => runStepFunction(name, fn, retries, clock, parts.signal, progress)).then(async (done) => {
          if (done !== BETWEEN_ATTEMPTS) await own(effects.step(seq, name, done));
          return done;
        }),
      );
      // Between attempts (waiting out a backoff, or the service stopping): this execution ends
      // here, and the run goes on from the journal.
      if (outcome === BETWEEN_ATTEMPTS) return x.suspend();
      if (!outcome.ok) throw new StepFailedError(name, outcome.message, outcome.attempts);
      return (outcome.json === null ? undefined : JSON.parse(outcome.json)) as T;
    },

    async sleep(seconds: number) {
      if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0 || seconds > MAX_SLEEP_SECONDS) {
        throw new TypeError(`ctx.sleep needs a number of seconds from 0 to ${MAX_SLEEP_SECONDS} (ten years), got ${shown(seconds)}`);
      }
      const { seq, recorded } = await position("sleep", "sleep");
      if (!recorded) {
        await x.effect(own(effects.sleep(seq, Math.round(seconds * 1000))));
        return x.suspend();
      }
      if (recorded.state === "done") return;
      if (recorded.state === "cancelled") throw runCancelled();
      return waitAgain();
    },

    async remember(value: unknown) {
      const json = memoryJson(value);
      // What ctx.memory says must not change under the run: read it before the first write.
      memoryAtStart();
      const { seq, recorded } = await position("remember", "remember");
      if (!recorded) await x.effect(own(effects.remember(seq, json)));
    },
  };
}

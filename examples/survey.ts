/**
 * A two-question feedback survey with durable reminders. A question left unanswered for an hour
 * gets one reminder; a week after the survey the bot comes back once to ask whether things got
 * better. Both waits are kept in timbre's database: they survive restarts and hold nothing in
 * memory meanwhile.
 *
 *   timbre types > timbre.d.ts     # editor types for "timbre", beside this file
 *   timbre ./survey.ts             # no TELEGRAM_BOT_TOKEN: chat with it at http://localhost:8080/sandbox
 */
import { AskTimeoutError, type Agent, type AgentContext } from "timbre";

export interface SurveyTiming {
  /** How long a question waits before its one reminder. */
  remindAfterSeconds: number;
  /** How long after the survey the bot comes back. */
  followUpAfterSeconds: number;
}

/** Asks; with no answer within `remindAfterSeconds`, reminds once and then waits as long as ASK_TIMEOUT_SECONDS allows. */
async function askWithReminder(ctx: AgentContext, question: string, remindAfterSeconds: number): Promise<string> {
  try {
    return await ctx.ask(question, { timeoutSeconds: remindAfterSeconds });
  } catch (error) {
    if (!(error instanceof AskTimeoutError)) throw error; // a cancel ends the run
    return ctx.ask(`Just a reminder: ${question}`);
  }
}

function wholeNumberFrom0To10(text: string): number | undefined {
  const n = Number(text.trim());
  return Number.isInteger(n) && n >= 0 && n <= 10 ? n : undefined;
}

export function survey(timing: SurveyTiming): Agent {
  return async (ctx) => {
    if (ctx.text === undefined) return; // edited messages, photos...: nothing to do
    let score = wholeNumberFrom0To10(await askWithReminder(ctx, "How likely are you to recommend us, from 0 to 10?", timing.remindAfterSeconds));
    while (score === undefined) score = wholeNumberFrom0To10(await ctx.ask("Please answer with a whole number from 0 to 10."));
    const improve = await askWithReminder(ctx, "What is the one thing we should improve?", timing.remindAfterSeconds);
    await ctx.reply(`Thanks! Score ${score}, and we will work on: ${improve}. I will check back with you later.`);

    // A durable timer: the run sleeps in the database, not in memory, and wakes on time.
    await ctx.sleep(timing.followUpAfterSeconds);
    const better = await ctx.ask(`Some time ago you asked us to improve: ${improve}. Has it got better? (yes or no)`);
    await ctx.reply(/^y/i.test(better.trim()) ? "Glad to hear it. Thank you!" : "Sorry to hear that; we are still on it. Thank you!");
  };
}

/** Names this code in each run it starts (see /admin/runs). */
export const version = "survey-1";

export default survey({ remindAfterSeconds: 60 * 60, followUpAfterSeconds: 7 * 24 * 60 * 60 });

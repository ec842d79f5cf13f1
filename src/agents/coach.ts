import type { Agent, AgentContext, AgentUser } from "../runtime/context.ts";
import { renderPlan, type Language, type Level } from "./coach-plan.ts";

/** Everything the coach says besides the plan (tests compare against it). */
export const coachText = {
  en: {
    welcome:
      "Hi! I'm your training coach. Send me any message and I'll build you a weekly training plan: I'll ask for your goal, how many days a week you can train, and your level. Send /cancel at any time to stop.",
    goal: "What is your training goal? (for example: run a 10k, get stronger, lose weight)",
    days: "How many days per week can you train? (a number from 1 to 7)",
    daysAgain: "Please answer with a whole number of days from 1 to 7.",
    level: "What is your level: beginner, intermediate or advanced?",
    levelAgain: "Please answer beginner, intermediate or advanced.",
  },
  es: {
    welcome:
      "¡Hola! Soy tu entrenador. Envíame cualquier mensaje y te prepararé un plan semanal: te preguntaré tu objetivo, cuántos días a la semana puedes entrenar y tu nivel. Envía /cancel en cualquier momento para parar.",
    goal: "¿Cuál es tu objetivo de entrenamiento? (por ejemplo: correr 10 km, ganar fuerza, perder peso)",
    days: "¿Cuántos días por semana puedes entrenar? (un número del 1 al 7)",
    daysAgain: "Responde con un número entero de días del 1 al 7, por favor.",
    level: "¿Cuál es tu nivel: principiante, intermedio o avanzado?",
    levelAgain: "Responde principiante, intermedio o avanzado, por favor.",
  },
} as const;

const LEVELS: Record<string, Level> = {
  beginner: "beginner",
  intermediate: "intermediate",
  advanced: "advanced",
  principiante: "beginner",
  intermedio: "intermediate",
  avanzado: "advanced",
};

/** The first number in the answer, when it is a whole number from 1 to 7 ("3", "3 days", "3 días"). */
export function parseDays(answer: string): number | undefined {
  // A sign (ASCII hyphen or the minus sign) and a leading point belong to the number: "−2" and ".5" are not 2 and 5.
  const match = /[-\u2212]?(?:\d+(?:[.,]\d+)?|[.,]\d+)/.exec(answer.trim());
  if (!match) return undefined;
  const value = Number(match[0].replace("\u2212", "-").replace(",", "."));
  return Number.isInteger(value) && value >= 1 && value <= 7 ? value : undefined;
}

/** The level in English or Spanish, case-insensitive, ignoring spaces and punctuation around it ("Beginner!"). */
export function parseLevel(answer: string): Level | undefined {
  return LEVELS[answer.trim().toLowerCase().replace(/^[\s\p{P}\p{S}]+|[\s\p{P}\p{S}]+$/gu, "")];
}

/** The goal as written (trimmed); an answer with nothing in it is asked again. */
function parseGoal(answer: string): string | undefined {
  const goal = answer.trim();
  return goal === "" ? undefined : goal;
}

function languageOf(user: AgentUser | undefined): Language {
  return user?.language_code?.toLowerCase().startsWith("es") ? "es" : "en";
}

const isStart = (text: string) => /^\/start(@\w+)?(\s|$)/i.test(text.trim());

/** Asks until `parse` accepts the answer, re-asking with `again` in between (with the same buttons, if any). */
async function askUntil<T>(ctx: AgentContext, question: string, again: string, parse: (answer: string) => T | undefined, choices?: string[]): Promise<T> {
  const options = choices ? { choices } : {};
  let value = parse(await ctx.ask(question, options));
  while (value === undefined) value = parse(await ctx.ask(again, options));
  return value;
}

/** The level buttons, in the user's language (a tap answers with the button's text). */
const LEVEL_CHOICES: Record<Language, string[]> = {
  en: ["Beginner", "Intermediate", "Advanced"],
  es: ["Principiante", "Intermedio", "Avanzado"],
};

/**
 * The training-plan coach: /start greets (an instant reply, no run); any other text starts a
 * run that asks for the goal, the days per week and the level, then sends one plan message.
 */
export const coach: Agent = Object.assign(
  async (ctx: AgentContext) => {
    if (ctx.text === undefined) return;
    const language = languageOf(ctx.user);
    const t = coachText[language];
    if (isStart(ctx.text)) {
      // Only reached when a runtime does not use instantReply.
      await ctx.reply(t.welcome);
      return;
    }
    const goal = await askUntil(ctx, t.goal, t.goal, parseGoal);
    const days = await askUntil(ctx, t.days, t.daysAgain, parseDays);
    const level = await askUntil(ctx, t.level, t.levelAgain, parseLevel, LEVEL_CHOICES[language]);
    await ctx.reply(renderPlan(goal, days, level, language));
  },
  { instantReply: (text: string, user: AgentUser | undefined) => (isStart(text) ? coachText[languageOf(user)].welcome : undefined) },
);

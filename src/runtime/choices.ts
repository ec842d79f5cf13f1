import { bodyOf, isObject, updateTypeOf } from "../ingest/update-shape.ts";
import type { TelegramUpdate } from "./context.ts";

/** A question's buttons: what a button carries, the keyboards, and reading a tap back. */

type Keyboard = { inline_keyboard: { text: string; callback_data: string }[][] };

/** ctx.ask's limits for choices (the llm agent's ask_user has the same). */
export const MAX_CHOICES = 100;
export const MAX_CHOICE_LENGTH = 64;

const GRAPHEMES = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** A choice's length in characters as a person counts them: an emoji is one (a flag, a skin tone, a ZWJ family too). */
export function choiceLength(text: string): number {
  let n = 0;
  for (const _ of GRAPHEMES.segment(text)) n++;
  return n;
}

/** Button data of a choice (at most 64 bytes): which run, which journal position, which choice. */
export function choiceData(runId: number, seq: number, index: number): string {
  return `timbre:${runId}:${seq}:${index}`;
}

/** One button per choice: a row of up to three short ones, else one a row. */
export function choicesKeyboard(runId: number, seq: number, choices: string[]): Keyboard {
  const buttons = choices.map((text, index) => ({ text, callback_data: choiceData(runId, seq, index) }));
  const oneRow = buttons.length <= 3 && choices.every((choice) => choiceLength(choice) <= 16);
  return { inline_keyboard: oneRow ? [buttons] : buttons.map((button) => [button]) };
}

/** What the question shows once answered by a tap: the choice, marked (tapping it again changes nothing). */
export function chosenKeyboard(runId: number, seq: number, index: number, choice: string): Keyboard {
  return { inline_keyboard: [[{ text: `✓ ${choice}`, callback_data: choiceData(runId, seq, index) }]] };
}

/** A tap on one of timbre's question buttons. */
export interface ChoiceTap {
  callbackQueryId: string;
  runId: number;
  seq: number;
  index: number;
  /** The question's message, whose keyboard the answer marks; absent for inline messages. */
  messageId: number | undefined;
}

/** The tap a callback_query carries, when its data is one of timbre's choice buttons. */
export function choiceTapOf(update: TelegramUpdate): ChoiceTap | undefined {
  if (updateTypeOf(update) !== "callback_query") return undefined;
  const query = bodyOf(update);
  const match = typeof query?.data === "string" ? /^timbre:(\d{1,15}):(\d{1,6}):(\d{1,3})$/.exec(query.data) : null;
  if (!query || !match || typeof query.id !== "string") return undefined;
  const messageId = isObject(query.message) && typeof query.message.message_id === "number" ? query.message.message_id : undefined;
  return { callbackQueryId: query.id, runId: Number(match[1]), seq: Number(match[2]), index: Number(match[3]), messageId };
}

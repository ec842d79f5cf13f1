import { splitText } from "./split-text.ts";

/** One message of a text as sent: its part of the text, and its sendMessage options as JSON (null: none). */
export interface MessagePart {
  text: string;
  options: string | null;
}

/** A Bot API MessageEntity: what timbre reads of it (the rest is kept as it is). */
interface Entity {
  offset: number;
  length: number;
  [field: string]: unknown;
}

const isEntity = (value: unknown): value is Entity =>
  typeof value === "object" && value !== null && Number.isInteger((value as Entity).offset) && Number.isInteger((value as Entity).length);

/**
 * A text split into messages of at most 4096 characters, each with the message's options, except
 * that only the last part carries a keyboard (each button once, under the whole text) and each
 * part carries the `entities` that fall in it, counted from its own start (one across a cut is
 * cut too). The parts are pieces of the text in order, so each has one place in it.
 */
export function messageParts(text: string, options: Record<string, unknown> | undefined): MessagePart[] {
  const parts = splitText(text);
  if (parts.length === 1) return [{ text, options: optionsJson(options) }];
  const { reply_markup: keyboard, entities, ...rest } = options ?? {};
  let searchFrom = 0;
  return parts.map((part, i) => {
    const start = text.indexOf(part, searchFrom);
    searchFrom = start + part.length;
    const own: Record<string, unknown> = { ...rest };
    if (Array.isArray(entities)) {
      const inPart = start < 0 ? [] : entitiesWithin(entities, start, start + part.length);
      if (inPart.length > 0) own.entities = inPart;
    } else if (entities !== undefined) own.entities = entities;
    if (keyboard !== undefined && i === parts.length - 1) own.reply_markup = keyboard;
    return { text: part, options: optionsJson(own) };
  });
}

/** The entities that overlap [start, end), clipped to it and counted from `start`. */
function entitiesWithin(entities: unknown[], start: number, end: number): Entity[] {
  const within: Entity[] = [];
  for (const entity of entities) {
    if (!isEntity(entity)) continue;
    const from = Math.max(entity.offset, start);
    const to = Math.min(entity.offset + entity.length, end);
    if (to > from) within.push({ ...entity, offset: from - start, length: to - from });
  }
  return within;
}

/** A row's options column: the options as JSON, or null when there are none. */
export function optionsJson(values: Record<string, unknown> | undefined): string | null {
  return values && Object.keys(values).length ? JSON.stringify(values) : null;
}

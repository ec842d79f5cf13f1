import { ApiError } from "./emulator-http.ts";

/** A MessageEntity as the Bot API gives it (offset and length in UTF-16 code units). */
export interface MessageEntity {
  type: string;
  offset: number;
  length: number;
  url?: string;
  language?: string;
}

const TAGS: Record<string, string> = {
  b: "bold",
  strong: "bold",
  i: "italic",
  em: "italic",
  u: "underline",
  ins: "underline",
  s: "strikethrough",
  strike: "strikethrough",
  del: "strikethrough",
  "tg-spoiler": "spoiler",
  span: "spoiler",
  a: "text_link",
  code: "code",
  pre: "pre",
  blockquote: "blockquote",
};

const NAMED: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"' };

const attribute = (attributes: string, name: string) => new RegExp(`${name}\\s*=\\s*"([^"]*)"`).exec(attributes)?.[1];

/**
 * parse_mode HTML as Telegram reads it: the text without its tags and with its character
 * references decoded, and the entities the tags make. An unsupported or unclosed tag is the 400
 * Telegram answers ("can't parse entities").
 */
export function parseHtml(html: string): { text: string; entities: MessageEntity[] } {
  const open: { tag: string; type: string; offset: number; url?: string; language?: string }[] = [];
  const entities: MessageEntity[] = [];
  let text = "";
  let last = 0;
  for (const match of html.matchAll(/<(\/?)([a-zA-Z-]+)([^>]*)>|&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot);/g)) {
    text += html.slice(last, match.index);
    last = match.index + match[0].length;
    const [, closing, rawTag, attributes = "", reference] = match;
    if (reference !== undefined) {
      text += reference.startsWith("#") ? String.fromCodePoint(Number(reference.startsWith("#x") ? `0x${reference.slice(2)}` : reference.slice(1))) : NAMED[reference]!;
      continue;
    }
    const tag = rawTag!.toLowerCase();
    const type = TAGS[tag];
    if (type === undefined) throw new ApiError(400, `Bad Request: can't parse entities: Unsupported start tag "${tag}"`);
    if (!closing) {
      const language = tag === "code" && open.at(-1)?.tag === "pre" ? attribute(attributes, "class")?.replace(/^language-/, "") : undefined;
      if (language !== undefined) open.at(-1)!.language = language;
      open.push({ tag, type: tag === "blockquote" && /\bexpandable\b/.test(attributes) ? "expandable_blockquote" : type, offset: text.length, url: tag === "a" ? attribute(attributes, "href") : undefined });
      continue;
    }
    const started = open.pop();
    if (!started || started.tag !== tag) throw new ApiError(400, `Bad Request: can't parse entities: Unmatched end tag "${tag}"`);
    if (text.length > started.offset && !(started.type === "code" && open.at(-1)?.language !== undefined)) {
      entities.push({
        type: started.type,
        offset: started.offset,
        length: text.length - started.offset,
        ...(started.url !== undefined ? { url: started.url } : {}),
        ...(started.language !== undefined ? { language: started.language } : {}),
      });
    }
  }
  if (open.length > 0) throw new ApiError(400, `Bad Request: can't parse entities: Can't find end tag corresponding to start tag "${open.at(-1)!.tag}"`);
  text += html.slice(last);
  return { text, entities: entities.sort((a, b) => a.offset - b.offset || b.length - a.length) };
}

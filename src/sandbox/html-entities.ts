import { ApiError } from "./emulator-http.ts";

/** A MessageEntity as the Bot API gives it (offset and length in UTF-16 code units). */
export interface MessageEntity {
  type: string;
  offset: number;
  length: number;
  url?: string;
  language?: string;
  custom_emoji_id?: string;
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
  "tg-emoji": "custom_emoji",
};

const NAMED: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"' };

/** An attribute's value, in double or single quotes, its character references decoded. */
function attribute(attributes: string, name: string): string | undefined {
  const match = new RegExp(`${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(attributes);
  const value = match?.[1] ?? match?.[2];
  return value === undefined ? undefined : value.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot);/g, (_, reference: string) => decodeReference(reference));
}

function decodeReference(reference: string): string {
  if (!reference.startsWith("#")) return NAMED[reference]!;
  const codePoint = Number(reference.startsWith("#x") ? `0x${reference.slice(2)}` : reference.slice(1));
  if (codePoint > 0x10ffff) throw new ApiError(400, `Bad Request: can't parse entities: character reference &${reference}; is out of range`);
  return String.fromCodePoint(codePoint);
}

/** Text between tags: a "<" left in it is no tag, which Telegram refuses (it must be written &lt;). */
function plain(segment: string): string {
  if (segment.includes("<")) throw new ApiError(400, `Bad Request: can't parse entities: Unsupported start tag at "${segment.slice(segment.indexOf("<"), segment.indexOf("<") + 10)}"`);
  return segment;
}

/**
 * parse_mode HTML as Telegram reads it: the text without its tags and with its character
 * references decoded, and the entities the tags make. An unsupported or unclosed tag is the 400
 * Telegram answers ("can't parse entities").
 */
export function parseHtml(html: string): { text: string; entities: MessageEntity[] } {
  const open: { tag: string; type: string; offset: number; url?: string; language?: string; customEmojiId?: string }[] = [];
  const entities: MessageEntity[] = [];
  let text = "";
  let last = 0;
  for (const match of html.matchAll(/<(\/?)([a-zA-Z-]+)([^>]*)>|&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot);/g)) {
    text += plain(html.slice(last, match.index));
    last = match.index + match[0].length;
    const [, closing, rawTag, attributes = "", reference] = match;
    if (reference !== undefined) {
      text += decodeReference(reference);
      continue;
    }
    const tag = rawTag!.toLowerCase();
    const type = TAGS[tag];
    // A span is a spoiler only with class="tg-spoiler"; any other is not a tag Telegram knows.
    if (type === undefined || (tag === "span" && !closing && attribute(attributes, "class") !== "tg-spoiler")) throw new ApiError(400, `Bad Request: can't parse entities: Unsupported start tag "${tag}"`);
    if (!closing) {
      const language = tag === "code" && open.at(-1)?.tag === "pre" ? attribute(attributes, "class")?.replace(/^language-/, "") : undefined;
      if (language !== undefined) open.at(-1)!.language = language;
      open.push({
        tag,
        type: tag === "blockquote" && /\bexpandable\b/.test(attributes) ? "expandable_blockquote" : type,
        offset: text.length,
        url: tag === "a" ? attribute(attributes, "href") : undefined,
        customEmojiId: tag === "tg-emoji" ? attribute(attributes, "emoji-id") : undefined,
      });
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
        ...(started.customEmojiId !== undefined ? { custom_emoji_id: started.customEmojiId } : {}),
      });
    }
  }
  if (open.length > 0) throw new ApiError(400, `Bad Request: can't parse entities: Can't find end tag corresponding to start tag "${open.at(-1)!.tag}"`);
  text += plain(html.slice(last));
  return { text, entities: entities.sort((a, b) => a.offset - b.offset || b.length - a.length) };
}

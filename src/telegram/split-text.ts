export const TELEGRAM_TEXT_LIMIT = 4096;

/**
 * Splits a text into parts of at most `limit` characters (UTF-16 code units, as Telegram and
 * JavaScript count them), on line boundaries; a single line that is too long is split on
 * spaces, and a word that is too long is cut between graphemes (never inside an emoji). Joining the parts
 * with "\n" (or " " at a cut inside a line) gives back the text, except for blank lines and
 * spaces at the cuts; parts that would be only whitespace are dropped.
 */
export function splitText(text: string, limit = TELEGRAM_TEXT_LIMIT): string[] {
  if (text.length <= limit) return [text];
  const parts: string[] = [];
  let current = "";
  const push = () => {
    // Blank lines at the end of a part would only be trimmed by Telegram.
    current = current.replace(/(\n[ \t\r]*)+$/, "");
    if (current.trim() !== "") parts.push(current);
    current = "";
  };
  for (const line of text.split("\n")) {
    const candidate = current === "" ? line : `${current}\n${line}`;
    if (candidate.length <= limit) {
      current = candidate;
      continue;
    }
    push();
    if (line.length <= limit) {
      current = line;
      continue;
    }
    for (const piece of splitLongLine(line, limit)) {
      if (current !== "" && current.length + 1 + piece.length <= limit) current = `${current} ${piece}`;
      else {
        push();
        current = piece;
      }
    }
  }
  push();
  return parts;
}

function splitLongLine(line: string, limit: number): string[] {
  const pieces: string[] = [];
  for (const word of line.split(" ")) {
    if (word.length <= limit) pieces.push(word);
    else pieces.push(...cutWord(word, limit));
  }
  return pieces;
}

/** What a reader sees as one character: an emoji with its skin tone, a flag, a ZWJ family, a letter with its accents. */
const GRAPHEMES = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/**
 * A word longer than a part, cut between graphemes, so no emoji turns into broken pieces (only a
 * single grapheme longer than a part, which no reader would type, is cut between its code points).
 */
function cutWord(word: string, limit: number): string[] {
  const pieces: string[] = [];
  let piece = "";
  const add = (text: string) => {
    if (piece !== "" && piece.length + text.length > limit) {
      pieces.push(piece);
      piece = "";
    }
    piece += text;
  };
  for (const { segment } of GRAPHEMES.segment(word)) {
    if (segment.length <= limit) add(segment);
    else for (const codePoint of segment) add(codePoint);
  }
  pieces.push(piece);
  return pieces;
}

export const TELEGRAM_TEXT_LIMIT = 4096;

/**
 * Splits a text into parts of at most `limit` characters (UTF-16 code units, as Telegram and
 * JavaScript count them), on line boundaries; a single line that is too long is split on
 * spaces, and a word that is too long is cut (never inside a surrogate pair). Joining the parts
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
    let start = 0;
    while (word.length - start > limit) {
      let end = start + limit;
      // Never cut between the two halves of a surrogate pair (an emoji would turn into garbage).
      if (isHighSurrogate(word.charCodeAt(end - 1)) && limit > 1) end--;
      pieces.push(word.slice(start, end));
      start = end;
    }
    pieces.push(word.slice(start));
  }
  return pieces;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

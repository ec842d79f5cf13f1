export const TELEGRAM_TEXT_LIMIT = 4096;

/**
 * Splits a text into parts of at most `limit` characters, on line boundaries; a single line
 * that is too long is split on word boundaries, and a word that is too long is cut.
 * Joining the parts with "\n" gives back the text, except for whitespace at the cuts.
 */
export function splitText(text: string, limit = TELEGRAM_TEXT_LIMIT): string[] {
  if (text.length <= limit) return [text];
  const parts: string[] = [];
  let current = "";
  const push = () => {
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
    for (let i = 0; i < word.length; i += limit) pieces.push(word.slice(i, i + limit));
  }
  return pieces;
}

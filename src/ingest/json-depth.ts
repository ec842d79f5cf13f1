/**
 * How deep a JSON text nests, counted without recursion. JSON.parse copes with very deep input,
 * but JSON.stringify, structuredClone and recursive code further on overflow the stack (about
 * 10 000 levels in Bun), so the webhook refuses such bodies at the door. Telegram's updates nest
 * fewer than 20 levels.
 */
export const MAX_UPDATE_DEPTH = 128;

/** True when `json` (already known to be valid JSON) opens more than `max` arrays/objects inside each other. */
export function nestsDeeperThan(json: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

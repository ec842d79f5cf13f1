/**
 * README "Outbox" (Long texts): "A single line that is too long is split between words, and a
 * word that is too long is cut, never inside an emoji."
 * An emoji is what the user sees as one: a skin-tone thumbs-up (👍🏽), a flag (🇩🇪), a family
 * joined with ZWJ (👨‍👩‍👧). Cutting between its code points shows two broken pieces.
 */
import { expect, test } from "bun:test";
import { splitText, TELEGRAM_TEXT_LIMIT } from "../../src/telegram/split-text.ts";

const graphemes = (text: string) => [...new Intl.Segmenter("en", { granularity: "grapheme" }).segment(text)].map((s) => s.segment);

for (const [name, emoji] of [
  ["skin-tone thumbs-up", "👍🏽"],
  ["flag", "🇩🇪"],
  ["ZWJ family", "👨‍👩‍👧"],
] as const) {
  test(`a too-long word is not cut inside a ${name} emoji`, () => {
    // The word is one character too long for a part only once the emoji's second code point counts.
    const text = "a".repeat(TELEGRAM_TEXT_LIMIT - 2) + emoji;
    const parts = splitText(text);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
    // The emoji comes out whole in one part.
    expect(parts.some((part) => graphemes(part).includes(emoji))).toBe(true);
  });
}

import { describe, expect, test } from "bun:test";
import { splitText, TELEGRAM_TEXT_LIMIT } from "../../src/telegram/split-text.ts";

/** Every part fits, none is blank. */
function expectWellFormed(parts: string[], limit: number) {
  for (const part of parts) {
    expect(part.length).toBeLessThanOrEqual(limit);
    expect(part.trim()).not.toBe("");
  }
}

describe("splitText", () => {
  test("a text within the limit is one part, unchanged (also exactly at the limit, and empty)", () => {
    expect(splitText("hello")).toEqual(["hello"]);
    const exact = "x".repeat(TELEGRAM_TEXT_LIMIT);
    expect(splitText(exact)).toEqual([exact]);
    expect(splitText("")).toEqual([""]);
  });

  test("one character over the limit makes two parts", () => {
    const text = `${"a".repeat(4000)}\n${"b".repeat(96)}`;
    expect(text.length).toBe(TELEGRAM_TEXT_LIMIT + 1);
    expect(splitText(text)).toEqual(["a".repeat(4000), "b".repeat(96)]);
  });

  test("10 000 characters of lines split on line boundaries into 3 ordered parts that join back to the text", () => {
    // 100 lines of 99 characters + "\n" = 10 000 characters; 40 lines fit in 4096.
    const lines = Array.from({ length: 100 }, (_, i) => `line ${String(i).padStart(3, "0")} `.padEnd(99, "."));
    const text = lines.join("\n");
    expect(text.length).toBe(9_999);
    const parts = splitText(`${text}!`);
    expect(parts).toHaveLength(3);
    expectWellFormed(parts, TELEGRAM_TEXT_LIMIT);
    expect(parts.join("\n")).toBe(`${text}!`);
    // Cuts fall between lines: every part starts with a whole line.
    for (const part of parts) expect(part).toMatch(/^line \d{3} /);
    expect(parts.map((p) => p.split("\n").length)).toEqual([40, 40, 20]);
  });

  test("a single long line splits on spaces, never inside a word", () => {
    const words = Array.from({ length: 1_500 }, (_, i) => `w${i}`);
    const text = words.join(" ");
    const parts = splitText(text, 1000);
    expectWellFormed(parts, 1000);
    expect(parts.join(" ")).toBe(text);
    expect(parts.flatMap((p) => p.split(" "))).toEqual(words);
  });

  test("a word longer than the limit is cut into pieces, and the rest of the line follows", () => {
    const text = `start ${"x".repeat(25)} end`;
    const parts = splitText(text, 10);
    expectWellFormed(parts, 10);
    expect(parts).toEqual(["start", "xxxxxxxxxx", "xxxxxxxxxx", "xxxxx end"]);
  });

  test("a cut never separates the two halves of an emoji", () => {
    const text = "😀".repeat(10); // 20 UTF-16 code units
    const parts = splitText(text, 5);
    expectWellFormed(parts, 5);
    expect(parts.join("")).toBe(text);
    for (const part of parts) expect(part).toMatch(/^(😀)+$/u);
  });

  test("a long line among short ones starts its own part, and lines after it follow in order", () => {
    const long = Array.from({ length: 30 }, (_, i) => `word${i}`).join(" ");
    const text = ["first", long, "after 1", "after 2"].join("\n");
    const parts = splitText(text, 50);
    expectWellFormed(parts, 50);
    expect(parts[0]).toBe("first");
    expect(parts.join(" ").replaceAll("\n", " ")).toBe(text.replaceAll("\n", " "));
    expect(parts.at(-1)).toEndWith("after 1\nafter 2");
  });

  test("blank lines at a cut are dropped, never sent as a part of their own", () => {
    const text = `${"a".repeat(8)}\n\n\n\n${"b".repeat(8)}`;
    const parts = splitText(text, 9);
    expect(parts).toEqual(["a".repeat(8), "b".repeat(8)]);
  });

  test("Windows line endings keep their \\r with the line", () => {
    const text = `${"a".repeat(6)}\r\n${"b".repeat(6)}\r\n`;
    const parts = splitText(text, 10);
    expectWellFormed(parts, 10);
    expect(parts).toEqual(["aaaaaa\r", "bbbbbb\r"]);
  });
});

/** What an enqueued message becomes: a long echo split in ordered parts of at most 4096, options kept on every part (entities cut to each part), nothing sent when its transaction rolls back. */
import { describe, expect, test } from "bun:test";
import { TELEGRAM_TEXT_LIMIT } from "../../src/telegram/split-text.ts";
import { postUpdate, textUpdate, waitFor } from "../helpers.ts";
import { allSent, outboxTests, rowsOf, sendsTo } from "./outbox-support.ts";

const { setup } = outboxTests();

describe("splitting", () => {
  test("a 10 000-character echo arrives as 3 ordered parts, none over 4096, split between lines", async () => {
    const { emulator, service } = await setup({ AGENT: "echo" });
    const lines = Array.from({ length: 100 }, (_, i) => `line ${String(i).padStart(3, "0")} `.padEnd(99, "~"));
    const text = `${lines.join("\n")}!`;
    expect(text.length).toBe(10_000);
    const user = { id: 805, first_name: "Long" };
    const response = await postUpdate(service.url, textUpdate(user, text));
    expect(response.status).toBe(200);
    await waitFor(() => emulator.sentTo(user.id).length === 3, "3 parts");
    await waitFor(() => service.outbox.counts().sent === 3, "3 rows sent");
    const parts = emulator.sentTo(user.id).map((m) => m.text);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
      expect(part).toMatch(/^line \d{3} /);
    }
    expect(parts.join("\n")).toBe(text);
    const rows = rowsOf(service, user.id);
    expect(rows.map((r) => r.text)).toEqual(parts);
    expect(new Set(rows.map((r) => r.runId)).size).toBe(1);
  });
});

describe("enqueue", () => {
  test("an enqueue rolled back with its transaction sends nothing, and the id SQLite reuses does not jump a chat's queue", async () => {
    const { emulator, service } = await setup({ SEND_RATE_PER_CHAT: "2" });
    const [first] = service.outbox.enqueue({ chatId: 811, text: "b1" });
    let rolledBack: number | undefined;
    expect(() =>
      service.database.sqlite.transaction(() => {
        [rolledBack] = service.outbox.enqueue({ chatId: 812, text: "never sent" });
        throw new Error("the run failed after replying");
      })(),
    ).toThrow("the run failed after replying");
    const [second] = service.outbox.enqueue({ chatId: 811, text: "b2" });
    expect(second).toBe(rolledBack!); // the scenario this test is about
    await allSent(service, 2);
    expect(emulator.sentTo(812)).toHaveLength(0);
    const calls = sendsTo(emulator, 811);
    expect(calls.map((c) => c.params.text)).toEqual(["b1", "b2"]);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(500);
    expect(first).toBeLessThan(second!);
  });

  test("a message sent with options keeps them (message_thread_id, parse_mode) on every part", async () => {
    const { emulator, service } = await setup();
    service.outbox.enqueue({ chatId: -100_813, text: `${"a".repeat(4000)}\n${"b".repeat(200)}`, options: { message_thread_id: 7, parse_mode: "HTML" } });
    await allSent(service, 2);
    const calls = sendsTo(emulator, -100_813);
    expect(calls.map((c) => [c.params.message_thread_id, c.params.parse_mode, String(c.params.text).length])).toEqual([
      [7, "HTML", 4000],
      [7, "HTML", 200],
    ]);
  });

  test("a long message's entities go to the parts they fall in, counted from each part's start; one across the cut is cut too", async () => {
    const { emulator, service } = await setup();
    const first = `${"a".repeat(3990)} bold!`;
    const second = `${"b".repeat(100)} link`;
    const entities = [
      { type: "bold", offset: 3991, length: 5 },
      { type: "italic", offset: 3995, length: 12 }, // "!", the newline at the cut, then ten b: across the cut
      { type: "text_link", offset: first.length + 1 + 101, length: 4, url: "https://example.com/" },
    ];
    service.outbox.enqueue({ chatId: -100_814, text: `${first}\n${second}`, options: { entities } });
    await allSent(service, 2);
    const calls = sendsTo(emulator, -100_814);
    expect(calls.map((c) => [String(c.params.text).length, c.params.entities])).toEqual([
      [first.length, [{ type: "bold", offset: 3991, length: 5 }, { type: "italic", offset: 3995, length: 1 }]],
      [second.length, [{ type: "italic", offset: 0, length: 10 }, { type: "text_link", offset: 101, length: 4, url: "https://example.com/" }]],
    ]);
  });
});

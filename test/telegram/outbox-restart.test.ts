/** What a stop and a restart do to the outbox: a send in flight at stop() is recorded sent, and rows left `sending` or `queued` are sent on start, in order, once. */
import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { tempDir, waitFor } from "../helpers.ts";
import { allSent, outboxTests, rowsOf, sendsTo } from "./outbox-support.ts";

const { setup } = outboxTests();

describe("restart", () => {
  test("stop() waits for a send in flight and records it as sent", async () => {
    const { emulator, service, databasePath } = await setup();
    emulator.faults.delayMs = 300;
    service.outbox.enqueue({ chatId: 972, text: "in flight at stop" });
    await waitFor(() => emulator.inFlightCalls.get("sendMessage") === 1, "the send to be in flight", 5_000, 2);
    await service.stop();
    expect(emulator.sentTo(972)).toHaveLength(1);
    const sqlite = new Database(databasePath);
    const row = sqlite.query("SELECT status, message_id FROM outbox").get();
    sqlite.close();
    expect(row).toEqual({ status: "sent", message_id: 1 });
  });

  test("on start, rows left `sending` are sent again and `queued` rows are sent, in order, once", async () => {
    const dir = tempDir();
    const first = await setup({ SEND_MAX_ATTEMPTS: "1000" }, {}, dir);
    const chat = 970;
    // Telegram is down: the rows stay queued, retrying.
    first.emulator.faults = { ...first.emulator.faults, down: true, methods: ["sendMessage"] };
    for (let n = 1; n <= 3; n++) first.service.outbox.enqueue({ chatId: chat, text: `pending ${n}` });
    await waitFor(() => sendsTo(first.emulator, chat).length >= 2, "a few failed attempts");
    await first.service.stop();
    expect(first.emulator.messages).toHaveLength(0);

    // As if the process died during the first row's send.
    const sqlite = new Database(first.databasePath);
    const statuses = sqlite.query("SELECT id, status FROM outbox ORDER BY id").all() as { id: number; status: string }[];
    expect(statuses.map((r) => r.status)).toEqual(["queued", "queued", "queued"]);
    sqlite.run("UPDATE outbox SET status = 'sending' WHERE id = ?", [statuses[0]!.id]);
    // And a row nobody can send (options that are not JSON) before a good one, in another chat.
    const now = Date.now();
    const insert = sqlite.prepare("INSERT INTO outbox (chat_id, text, options, status, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, 'queued', ?, ?, ?)");
    insert.run(971, "broken", "{not json", now, now, now);
    insert.run(971, "fine", null, now, now, now);
    sqlite.close();

    const second = await setup({}, {}, dir);
    await allSent(second.service, 4);
    expect(rowsOf(second.service, 971).map((r) => r.status)).toEqual(["failed", "sent"]);
    expect(second.emulator.sentTo(971).map((m) => m.text)).toEqual(["fine"]);
    expect(second.emulator.sentTo(chat).map((m) => m.text)).toEqual(["pending 1", "pending 2", "pending 3"]);
    expect(sendsTo(second.emulator, chat)).toHaveLength(3);
    expect(rowsOf(second.service, chat).map((r) => [r.status, r.messageId])).toEqual([
      ["sent", 1],
      ["sent", 2],
      ["sent", 3],
    ]);
  });
});

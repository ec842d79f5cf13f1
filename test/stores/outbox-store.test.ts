// The outbox's send path (src/telegram/outbox-store.ts, and its PostgreSQL twin pg-outbox-store.ts):
// the same operations give the same rows on both engines.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sqliteOutboxStore, type NewOutboxRow, type OutboxStore } from "../../src/telegram/outbox-store.ts";
import { pgOutboxStore } from "../../src/telegram/pg-outbox-store.ts";
import { ENGINES, openEngine, type Engine } from "./engines.ts";

for (const engineName of ENGINES) {
  describe(`outbox store on ${engineName}`, () => {
    let engine: Engine;
    let store: OutboxStore;
    beforeAll(async () => {
      engine = await openEngine(engineName, "outbox-store");
      store = engine.sqlite ? sqliteOutboxStore(engine.sqlite.sqlite) : pgOutboxStore(engine.postgres!.session);
    });
    afterAll(() => engine.close());

    const message = (chatId: number, text: string): NewOutboxRow => ({ chatId, method: "sendMessage", text, options: '{"parse_mode":"HTML"}', messageId: null, runId: 3, updateId: 9 });

    test("a stored row reads back for the send; sending, then sent with Telegram's message id", async () => {
      const id = await engine.run(store.insert(message(10, "hello"), 1_000));
      expect(await engine.run(store.read(id))).toEqual({
        id,
        chat_id: 10,
        method: "sendMessage",
        text: "hello",
        options: '{"parse_mode":"HTML"}',
        message_id: null,
        status: "queued",
        attempts: 0,
        run_id: 3,
        update_id: 9,
      });
      await engine.run(store.markSending([id], 1_100));
      expect(await engine.run(store.status(id))).toBe("sending");
      expect(await engine.run(store.lastSentAt(10))).toBeUndefined();
      await engine.run(store.markSent([{ id, messageId: 555, attempts: 1, at: 1_200 }]));
      expect(await engine.run(store.read(id))).toMatchObject({ status: "sent", message_id: 555, attempts: 1 });
      // When the chat's newest sent message was answered: a chat taken over keeps its spacing from there.
      expect(await engine.run(store.lastSentAt(10))).toBe(1_200);
      expect(await engine.run(store.lastSentAt(11))).toBeUndefined();
      expect(await engine.run(store.status(id + 1000))).toBeUndefined();
      expect(await engine.run(store.read(id + 1000))).toBeUndefined();
    });

    test("several rows marked sending in one write, then sent in one; others left as they were", async () => {
      const ids = await Promise.all(["a", "b", "c"].map(async (text) => engine.run(store.insert(message(50, text), 1_000))));
      await engine.run(store.markSending([ids[0]!, ids[2]!], 1_100));
      expect(await Promise.all(ids.map((id) => engine.run(store.status(id))))).toEqual(["sending", "queued", "sending"]);
      await engine.run(store.markSending([], 1_200));
      expect(await engine.run(store.status(ids[1]!))).toBe("queued");
      // Sent in one write, each with its own values (and no row is left `sending` for the tests after this one).
      await engine.run(store.markSent([{ id: ids[0]!, messageId: 71, attempts: 1, at: 1_300 }, { id: ids[2]!, messageId: 73, attempts: 3, at: 1_400 }]));
      expect(await engine.run(store.read(ids[0]!))).toMatchObject({ status: "sent", message_id: 71, attempts: 1 });
      expect(await engine.run(store.read(ids[2]!))).toMatchObject({ status: "sent", message_id: 73, attempts: 3 });
      expect(await engine.run(store.read(ids[1]!))).toMatchObject({ status: "queued", message_id: null, attempts: 0 });
      await engine.run(store.markSent([]));
    });

    test("retries, failures, and a failed row queued again with its attempts reset", async () => {
      const id = await engine.run(store.insert(message(20, "flaky"), 1_000));
      await engine.run(store.markRetry(id, 1, 5_000, "Bad Gateway", 1_100));
      expect(await engine.run(store.read(id))).toMatchObject({ status: "queued", attempts: 1 });
      await engine.run(store.markFailed(id, 2, "Forbidden", 1_200));
      expect(await engine.run(store.requeueFailed(id + 1000, 1_300))).toBeUndefined();
      const again = await engine.run(store.requeueFailed(id, 1_300));
      expect(again).toMatchObject({ id, chatId: 20, status: "queued", attempts: 0, nextAttemptAt: 1_300, lastError: "Forbidden", runId: 3, updateId: 9, createdAt: 1_000, updatedAt: 1_300 });
      expect(await engine.run(store.requeueFailed(id, 1_400))).toBeUndefined();
    });

    test("a group that became a supergroup takes its queued rows along; sending rows are queued again on start", async () => {
      const head = await engine.run(store.insert(message(-30, "first"), 1_000));
      const next = await engine.run(store.insert(message(-30, "second"), 1_000));
      const elsewhere = await engine.run(store.insert(message(40, "other"), 1_000));
      await engine.run(store.markSending([head], 1_100));
      await engine.run(store.markMoved(head, -1_000_030, "Bad Request: group chat was upgraded", 1_200));
      await engine.run(store.moveQueued(-30, -1_000_030, 1_200));
      expect((await engine.run(store.read(head)))!.chat_id).toBe(-1_000_030);
      expect((await engine.run(store.read(next)))!.chat_id).toBe(-1_000_030);
      await engine.run(store.markSending([elsewhere], 1_300));
      expect(await engine.run(store.requeueSending(1_400))).toBe(1);
      const queued = await engine.run(store.queued());
      expect(queued.filter((row) => [head, next, elsewhere].includes(row.id))).toEqual([
        { id: head, chatId: -1_000_030, nextAttemptAt: 1_200 },
        { id: next, chatId: -1_000_030, nextAttemptAt: 1_000 },
        { id: elsewhere, chatId: 40, nextAttemptAt: 1_000 },
      ]);
    });
  });
}

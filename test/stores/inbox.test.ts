// The inbox on both engines (src/ingest/inbox.ts on SQLite, pg-inbox.ts on PostgreSQL): the same
// group commit, dedup, statuses, reads and pruning.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { Clock } from "../../src/clock.ts";
import { Inbox, type StoredUpdate } from "../../src/ingest/inbox.ts";
import { sqliteInboxStore } from "../../src/ingest/inbox-store.ts";
import { PgInbox } from "../../src/ingest/pg-inbox.ts";
import { pgInboxStore } from "../../src/ingest/pg-inbox-store.ts";
import { runAsync } from "../../src/db/op.ts";
import { ENGINES, openEngine, type Engine } from "./engines.ts";

const HOUR = 3_600_000;

function movableClock(start = 1_700_000_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, setTimeout: () => ({ cancel() {} }), advance: (ms) => (now += ms) };
}

function message(updateId: number, chatId: number, extra: Record<string, unknown> = {}) {
  const update = { update_id: updateId, message: { message_id: updateId, date: 1, chat: { id: chatId, type: "private" }, from: { id: chatId, is_bot: false, first_name: "A" }, text: `m${updateId}` }, ...extra };
  return { update: update as never, raw: JSON.stringify(update) };
}

for (const engineName of ENGINES) {
  describe(`inbox on ${engineName}`, () => {
    let engine: Engine;
    let clock: ReturnType<typeof movableClock>;
    let inbox: Inbox | PgInbox;
    beforeEach(async () => {
      engine = await openEngine(engineName, "inbox");
      clock = movableClock();
      inbox = engine.sqlite ? new Inbox(engine.sqlite.db, clock) : new PgInbox(engine.postgres!.session, clock);
    });
    afterEach(() => engine.close());

    test("updates handed in together share one commit; duplicates, even within the batch, are reported and announced once", async () => {
      const announced: StoredUpdate[][] = [];
      inbox.onStored((stored) => announced.push(stored));
      await inbox.store(message(5, 1));
      expect(inbox.commits).toBe(1);
      const results = await Promise.all([message(9, 2), message(7, 1), message(5, 1), message(7, 1), message(8, 3)].map((m) => inbox.store(m)));
      expect(results.map((r) => r.duplicate)).toEqual([false, false, true, true, false]);
      expect(inbox.commits).toBe(2);
      expect(announced.map((batch) => batch.map((s) => s.updateId))).toEqual([[5], [7, 8, 9]]);
      expect(announced[1]![0]).toMatchObject({ updateId: 7, chatId: 1, userId: 1, kind: "message" });
      await inbox.settle();
    });

    test("the body is kept as Telegram sent it, unknown fields included", async () => {
      const sent = message(11, 4, { future_field: { nested: [1, 2] } });
      await inbox.store(sent);
      const row = await inbox.row(11);
      expect(row).toMatchObject({ updateId: 11, chatId: 4, kind: "message", status: "received", payload: sent.raw, receivedAt: clock.now(), updatedAt: clock.now() });
      expect((await inbox.get(11))!.update).toEqual(JSON.parse(sent.raw));
      expect(await inbox.get(12)).toBeUndefined();
    });

    test("bodies with quotes, backslashes, commas, braces, other scripts and odd spacing, in one batch with an update without a chat, are kept byte for byte", async () => {
      const texts = ['say "hi", {now}', "back\\slash \\n and \\u00e9", "NULL", "", "ünïcødé 🎉\nnext line\ttab", "a'b"];
      const sent = texts.map((text, i) => {
        const raw = `{ "update_id" : ${20 + i},\n  "message": {"message_id": 1, "date": 1, "chat": {"id": ${i + 1}, "type": "private"}, "text": ${JSON.stringify(text)}} }`;
        return { update: JSON.parse(raw) as never, raw };
      });
      const noChat = { update_id: 30, poll: { id: "p", question: "q?", options: [] } };
      const all = [...sent, { update: noChat as never, raw: JSON.stringify(noChat) }];
      const results = await Promise.all(all.map((m) => inbox.store(m)));
      expect(results.every((r) => !r.duplicate)).toBe(true);
      for (const m of all) expect((await inbox.row((m.update as { update_id: number }).update_id))?.payload).toBe(m.raw);
      expect(await inbox.row(30)).toMatchObject({ chatId: null, userId: null, kind: "poll" });
      await inbox.settle();
    });

    test("statuses: received ones load oldest first; a failed one is retried once", async () => {
      await Promise.all([3, 1, 2, 4].map((id) => inbox.store(message(id, id))));
      expect((await inbox.loadReceived(10)).map((s) => s.updateId)).toEqual([1, 2, 3, 4]);
      expect((await inbox.loadReceived(2, 1)).map((s) => s.updateId)).toEqual([2, 3]);
      await inbox.setStatus([1, 2], "done");
      await inbox.setStatus(3, "failed", "boom");
      expect(await inbox.row(3)).toMatchObject({ status: "failed", error: "boom" });
      expect((await inbox.loadReceived(10)).map((s) => s.updateId)).toEqual([4]);
      expect(await inbox.counts()).toEqual({ received: 1, processing: 0, done: 2, failed: 1 });
      expect(await inbox.retry(1)).toBe("not_failed");
      expect(await inbox.retry(99)).toBe("not_found");
      expect(((await inbox.retry(3)) as StoredUpdate).updateId).toBe(3);
      expect((await inbox.loadReceived(10)).map((s) => s.updateId)).toEqual([3, 4]);
      expect((await inbox.list({ limit: 10 })).map((r) => r.updateId)).toEqual([4, 3, 2, 1]);
      expect((await inbox.list({ status: "done", limit: 10 })).map((r) => r.updateId)).toEqual([2, 1]);
      expect((await inbox.list({ limit: 2, beforeUpdateId: 4 })).map((r) => r.updateId)).toEqual([3, 2]);
    });

    test("some chats' received updates, oldest first, but for those the caller has already (with no chat too)", async () => {
      const store = engine.sqlite ? sqliteInboxStore(engine.sqlite.sqlite) : pgInboxStore(engine.postgres!.session);
      const noChat = (updateId: number) => ({ update: { update_id: updateId, poll: { id: "p", question: "q?", options: [] } } as never, raw: "{}" });
      await Promise.all([...[5, 1, 3, 4, 9].map((id) => inbox.store(message(id, 7))), inbox.store(message(2, 8)), inbox.store(noChat(6)), inbox.store(noChat(10))]);
      await inbox.setStatus(4, "done");
      const ids = async (chatIds: (number | null)[], except?: number[], limit = 10) => (await runAsync(store.receivedOfChats(chatIds, limit, except))).map((row) => row.updateId);
      expect(await ids([7])).toEqual([1, 3, 5, 9]);
      expect(await ids([7], [3, 9, 2])).toEqual([1, 5]);
      expect(await ids([7], [1, 3, 5, 9])).toEqual([]);
      expect(await ids([null])).toEqual([6, 10]);
      expect(await ids([null], [10])).toEqual([6]);
      expect(await ids([8, 7, null], [3])).toEqual([1, 2, 5, 6, 9, 10]);
      expect(await ids([8, 7, null], [3], 3)).toEqual([1, 2, 5]);
      expect(await ids([])).toEqual([]);
      expect(await ids([99])).toEqual([]);
      await inbox.settle();
    });

    test("pruning: done payloads after an hour, dedup keys after 48 hours, failed rows after a week", async () => {
      await Promise.all([1, 2, 3].map((id) => inbox.store(message(id, id))));
      await inbox.setStatus([1, 2], "done");
      await inbox.setStatus(3, "failed", "boom");
      clock.advance(HOUR + 1);
      expect(await inbox.prune()).toEqual({ payloadsDropped: 2, rowsDeleted: 0 });
      expect(await inbox.hasPayload(1)).toBe(false);
      expect(await inbox.hasPayload(3)).toBe(true);
      // A duplicate of a pruned payload is still a duplicate: the row is the dedup key.
      expect(await inbox.store(message(1, 1))).toEqual({ duplicate: true });
      clock.advance(48 * HOUR);
      expect(await inbox.prune()).toEqual({ payloadsDropped: 0, rowsDeleted: 2 });
      clock.advance(7 * 24 * HOUR);
      expect(await inbox.prune()).toEqual({ payloadsDropped: 0, rowsDeleted: 1 });
      expect(await inbox.counts()).toEqual({ received: 0, processing: 0, done: 0, failed: 0 });
    });
  });
}

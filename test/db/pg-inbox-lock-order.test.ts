// Two instances storing the same updates at once (Telegram's retry reached another instance, or
// a load balancer sent both copies) must not deadlock: each batch inserts its rows in update_id
// order, so two inserts of overlapping batches wait on each other in one order only.
import { afterAll, expect, test } from "bun:test";
import { runAsync } from "../../src/db/op.ts";
import { openPostgres, type OpenPostgres } from "../../src/db/pg/index.ts";
import { PgSession } from "../../src/db/pg/session.ts";
import { pgInboxStore } from "../../src/ingest/pg-inbox-store.ts";
import type { NewUpdateRow } from "../../src/ingest/inbox-store.ts";
import { freshDatabase } from "../pg/cluster.ts";

const opened: OpenPostgres[] = [];
afterAll(() => Promise.all(opened.map((pg) => pg.close())));

function row(updateId: number): NewUpdateRow {
  return { updateId, chatId: updateId % 50, userId: 1, kind: "message", payload: `{"update_id":${updateId}}` };
}

test("batches of the same updates in opposite orders, stored at once by two instances, all commit", async () => {
  const url = await freshDatabase("inbox_lock_order", { migrated: true });
  const instances = await Promise.all([openPostgres(url), openPostgres(url)]);
  opened.push(...instances);
  const stores = instances.map((pg) => {
    const session = new PgSession(pg.sql);
    return { session, store: pgInboxStore(session) };
  });
  for (let round = 0; round < 20; round++) {
    const ids = Array.from({ length: 200 }, (_, i) => round * 1000 + i);
    const batches = [ids, [...ids].reverse()];
    const stored = await Promise.all(stores.map(({ session, store }, i) => session.begin(() => runAsync(store.insert(batches[i]!.map(row), 1)))));
    // Every update stored once, by one instance or the other.
    expect(stored[0]!.size + stored[1]!.size).toBe(ids.length);
  }
});

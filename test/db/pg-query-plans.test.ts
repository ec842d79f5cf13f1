// The plans PostgreSQL picks for the inbox's per-chat read, on a table the size a loaded instance
// has: each instance reads a chat's received updates whenever it stores one or hears of one, so
// that read must reach only the chat's rows, never walk every received update.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { runAsync } from "../../src/db/op.ts";
import { openPostgres, type OpenPostgres } from "../../src/db/pg/index.ts";
import type { PgSession } from "../../src/db/pg/session.ts";
import { pgInboxStore } from "../../src/ingest/pg-inbox-store.ts";
import { freshDatabase } from "../pg/cluster.ts";

const CHATS = 500;
const RECEIVED = 20_000;

let pg: OpenPostgres;
beforeAll(async () => {
  pg = await openPostgres(await freshDatabase("query plans"));
  // Received updates over CHATS chats (a few without a chat), and as many done ones.
  await pg.sql`INSERT INTO updates (update_id, chat_id, kind, payload, status, received_at, updated_at)
    SELECT n, CASE WHEN n % 1000 = 0 THEN NULL ELSE n % ${CHATS} END, 'message', '{}', CASE WHEN n <= ${RECEIVED} THEN 'received' ELSE 'done' END, n, n
    FROM generate_series(1, ${2 * RECEIVED}) AS n`;
  await pg.sql`ANALYZE updates`;
});
afterAll(() => pg?.close());

/**
 * The plans of the statement the inbox store runs for `receivedOfChats`, as JSON text: the
 * plan for these values, and the generic one a prepared statement settles on after a few calls.
 */
async function plansOfReceivedOfChats(chatId: number | null): Promise<{ custom: string; generic: string }> {
  let statement: { text: string; params: unknown[] } | undefined;
  const recording = {
    client: {
      unsafe: async (text: string, params: unknown[]) => {
        statement = { text, params };
        return [];
      },
    },
  } as unknown as PgSession;
  await runAsync(pgInboxStore(recording).receivedOfChats(chatId === null ? [null] : [chatId, chatId + 1], 10_000, [chatId ?? 1000, 1]));
  const { text, params } = statement!;
  const custom = await pg.sql.unsafe(`EXPLAIN (FORMAT JSON) ${text}`, params as never[]);
  const generic = await pg.sql.begin(async (tx) => {
    await tx.unsafe("SET LOCAL plan_cache_mode = force_generic_plan");
    await tx.unsafe(`PREPARE probe AS ${text}`);
    // The parameters are numbers and arrays of numbers: written into EXECUTE as literals.
    const literal = (value: unknown) => (Array.isArray(value) ? `'{${value.join(",")}}'` : String(value));
    const plan = await tx.unsafe(`EXPLAIN (FORMAT JSON) EXECUTE probe(${params.map(literal).join(", ")})`);
    await tx.unsafe("DEALLOCATE probe");
    return plan;
  });
  return { custom: JSON.stringify(custom), generic: JSON.stringify(generic) };
}

for (const chatId of [7, null]) {
  test(`the received updates of ${chatId === null ? "no chat" : "some chats"} are read through the partial index of received updates by chat, prepared or not`, async () => {
    const { custom, generic } = await plansOfReceivedOfChats(chatId);
    for (const plan of [custom, generic]) {
      expect(plan).toContain("updates_received_of_chat_idx");
      expect(plan).not.toContain("Seq Scan");
    }
  });
}

test("the store's read gives the chat's received updates in update_id order, and only those, but for those left out", async () => {
  const rows = await runAsync(pgInboxStore({ client: pg.sql } as unknown as PgSession).receivedOfChats([7], 10_000, [7, 507]));
  const ids = rows.map((row) => row.updateId);
  expect(ids.length).toBe(RECEIVED / CHATS - 2);
  expect(ids.slice(0, 2)).toEqual([1007, 1507]);
  expect(ids).toEqual([...ids].sort((a, b) => a - b));
  expect(rows.every((row) => row.chatId === 7 && row.status === "received")).toBe(true);
});

// A routing batch on PostgreSQL fences its chats once at its top (ChatScope.fenceAhead): fewer
// statements, and the same guarantee as each write's own fence (a lost chat fails alone; the
// locks hold to the end of the transaction, across a savepoint rolled back).
import { afterAll, expect, test } from "bun:test";
import postgres from "postgres";
import { awaited, type Op } from "../../src/db/op.ts";
import { PgBatchedTransactions } from "../../src/db/pg/batched-transactions.ts";
import { INT8_AS_NUMBER } from "../../src/db/pg/index.ts";
import { LeaseLostError, Leases } from "../../src/db/pg/leases.ts";
import { PgSession } from "../../src/db/pg/session.ts";
import { chatLease, LeasedChats } from "../../src/runtime/leased-chats.ts";
import { freshDatabase, lockWaiters } from "../pg/cluster.ts";
import { gate, ShiftableClock } from "./support.ts";

const TTL = 60_000;
const pools: postgres.Sql[] = [];
afterAll(() => Promise.all(pools.map((sql) => sql.end({ timeout: 0 }))));

/** One instance on the database: its pool (every statement it sends kept in `statements`), session, chats and routing batches. */
async function instance(url: string, holder: string, clock: ShiftableClock) {
  const statements: string[] = [];
  const sql = postgres(url, { max: 4, onnotice: () => {}, types: { int8: INT8_AS_NUMBER }, debug: (_connection, query) => void statements.push(query) });
  pools.push(sql);
  // As openPostgres does: the first statement makes the pool learn the array types (tx.array of lease names).
  await sql`SELECT 1`;
  const session = new PgSession(sql);
  const leases = new Leases(sql, clock);
  const chats = new LeasedChats({ session, leases, holder, ttlMs: TTL, clock, onAcquired: () => {}, onLost: () => {}, onError: () => {} });
  const batched = new PgBatchedTransactions(session, () => {}, (chatIds) => chats.fenceAhead(chatIds));
  /** A write of the chat's, as routing makes one: its fence, then a settings row named after the chat. */
  function* write(chatId: number): Op<void> {
    yield* chats.fence(chatId);
    yield* awaited(session.client`INSERT INTO settings (key, value) VALUES (${`chat ${chatId}`}, 'written')`);
  }
  return { sql, leases, chats, batched, statements, write };
}

const fences = (statements: string[]) => statements.filter((text) => text.includes("FOR KEY SHARE")).length;

test("a batch's chats are fenced in one statement at its top, and the writes' own fences send none", async () => {
  const a = await instance(await freshDatabase("fence_ahead_once", { migrated: true }), "a", new ShiftableClock());
  await a.chats.claim([1, 2, 3]);
  a.statements.length = 0;
  await Promise.all([1, 2, 3].map((chatId) => a.batched.run(() => a.write(chatId), chatId)));
  expect(fences(a.statements)).toBe(1);
  expect((await a.sql<{ key: string }[]>`SELECT key FROM settings WHERE key LIKE 'chat %' ORDER BY key`).map((row) => row.key)).toEqual(["chat 1", "chat 2", "chat 3"]);
});

test("a chat another instance took over before the batch: its write alone fails, at its own fence", async () => {
  const url = await freshDatabase("fence_ahead_lost", { migrated: true });
  const a = await instance(url, "a", new ShiftableClock());
  await a.chats.claim([1, 2]);
  // b's clock is past a's lease, a's is not: a still believes it holds chat 2 when b takes it.
  const laterClock = new ShiftableClock();
  laterClock.advance(TTL + 1);
  const b = await instance(url, "b", laterClock);
  expect(await b.leases.take(chatLease(2), "b", TTL)).toBeNumber();

  const outcomes = await Promise.allSettled([1, 2].map((chatId) => a.batched.run(() => a.write(chatId), chatId)));
  expect(outcomes[0]!.status).toBe("fulfilled");
  expect(outcomes[1]!.status === "rejected" && outcomes[1]!.reason).toBeInstanceOf(LeaseLostError);
  expect((await a.sql<{ key: string }[]>`SELECT key FROM settings WHERE key LIKE 'chat %'`).map((row) => row.key)).toEqual(["chat 1"]);
});

test("the fences taken at the top hold across a savepoint rolled back: a takeover waits for the batch's commit", async () => {
  const url = await freshDatabase("fence_ahead_savepoint", { migrated: true });
  const a = await instance(url, "a", new ShiftableClock());
  await a.chats.claim([1]);
  const laterClock = new ShiftableClock();
  laterClock.advance(TTL + 1);
  const b = await instance(url, "b", laterClock);

  const inside = gate();
  const held = gate();
  const undone = a.batched.run(function* () {
    yield* a.write(1);
    throw new Error("undone");
  }, 1);
  const waiting = a.batched.run(function* () {
    yield* a.chats.fence(1);
    inside.open();
    yield* awaited(held.opened);
  }, 1);
  // The first write's savepoint is rolled back and the second is inside the batch, past its fence.
  await inside.opened;
  let committed = false;
  const takeover = b.leases.take(chatLease(1), "b", TTL).then((token) => ({ token, afterCommit: committed }));
  await lockWaiters(b.sql, 1);
  held.open();
  await waiting;
  committed = true;
  await expect(undone).rejects.toThrow("undone");
  expect(await takeover).toEqual({ token: expect.any(Number), afterCommit: true });
});

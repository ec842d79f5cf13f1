import { afterAll, expect, test } from "bun:test";
import { LeaseKeeper } from "../../src/db/pg/lease-keeper.ts";
import { openPostgres, type OpenPostgres } from "../../src/db/pg/index.ts";
import { Leases } from "../../src/db/pg/leases.ts";
import { waitFor } from "../helpers.ts";
import { freshDatabase } from "../pg/cluster.ts";
import { ShiftableClock } from "../runtime/support.ts";

/** Long enough that the real time a test takes never expires a lease; tests move the clock instead. */
const TTL = 60_000;
const opened: OpenPostgres[] = [];
afterAll(() => Promise.all(opened.map((pg) => pg.close())));

async function database(name: string): Promise<OpenPostgres> {
  const pg = await openPostgres(await freshDatabase(name, { migrated: true }));
  opened.push(pg);
  return pg;
}

/** A keeper for `holder` that records what it reports. */
function keeper(pg: OpenPostgres, clock: ShiftableClock, holder = "a") {
  const lost: string[] = [];
  const errors: unknown[] = [];
  const leases = new Leases(pg.sql, clock);
  const kept = new LeaseKeeper({ leases, holder, ttlMs: TTL, clock, onLost: (names) => lost.push(...names), onError: (error) => errors.push(error) });
  return { kept, leases, lost, errors };
}

test("a keeper renews its leases every third of their length, so they outlive their first expiry", async () => {
  const pg = await database("keeper_renews");
  const clock = new ShiftableClock();
  const { kept, leases, lost, errors } = keeper(pg, clock);
  kept.start();
  const token = (await kept.take("chat:1"))!;
  const firstExpiry = (await leases.holderOf("chat:1"))!.expiresAt;
  for (let third = 1; third <= 6; third++) {
    const before = (await leases.holderOf("chat:1"))!.expiresAt;
    clock.advance(TTL / 3);
    await waitFor(async () => (await leases.holderOf("chat:1"))!.expiresAt > before, `renewal #${third}`);
  }
  expect(clock.now()).toBeGreaterThan(firstExpiry);
  expect(kept.token("chat:1")).toBe(token);
  expect(await new Leases(pg.sql, clock).take("chat:1", "b", TTL)).toBeUndefined();
  expect(lost).toEqual([]);
  expect(errors).toEqual([]);
  await kept.stop();
});

test("a renewal that comes back after the lease could have expired counts as lost, and the lease is freed", async () => {
  const pg = await database("keeper_late_renewal");
  const clock = new ShiftableClock();
  const { kept, leases, lost } = keeper(pg, clock);
  const token = (await kept.take("chat:2"))!;
  let renewal: Promise<void> | undefined;
  await pg.sql.begin(async (tx) => {
    // Something holds the row (a slow statement, a lock): the renewal is sent and waits.
    await tx`SELECT name FROM leases WHERE name = 'chat:2' FOR UPDATE`;
    renewal = kept.renewNow();
    await waitFor(async () => [...(await pg.sql`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`)].length > 0, "the renewal waiting on the row");
    clock.advance(TTL);
  });
  await renewal;
  expect(lost).toEqual(["chat:2"]);
  expect(kept.token("chat:2")).toBeUndefined();
  expect(kept.names()).toEqual([]);
  // The database renewed it, but the keeper let it go: the next taker gets a new token.
  await waitFor(async () => (await leases.holderOf("chat:2"))?.expiresAt === 0, "the late lease released");
  expect(await new Leases(pg.sql, clock).take("chat:2", "b", TTL)).toBeGreaterThan(token);
});

test("a lease another instance took over (its clock runs ahead) is reported lost at the next renewal", async () => {
  const pg = await database("keeper_taken_over");
  const clock = new ShiftableClock();
  const { kept, lost } = keeper(pg, clock);
  await kept.takeMany(["chat:3", "chat:4"]);
  const aheadClock = new ShiftableClock();
  aheadClock.advance(TTL);
  expect(await new Leases(pg.sql, aheadClock).take("chat:3", "b", TTL)).toBeNumber();
  await kept.renewNow();
  expect(lost).toEqual(["chat:3"]);
  expect(kept.names()).toEqual(["chat:4"]);
});

test("with no renewal coming back (the database unreachable), leases are reported lost when they run out", async () => {
  const pg = await database("keeper_unreachable");
  const clock = new ShiftableClock();
  const { kept, lost, errors } = keeper(pg, clock);
  await kept.takeMany(["chat:5", "chat:6"]);
  await pg.close();
  await kept.renewNow();
  expect(errors).toHaveLength(1);
  expect(lost).toEqual([]);
  clock.advance(TTL);
  expect(lost.sort()).toEqual(["chat:5", "chat:6"]);
  expect(kept.token("chat:5")).toBeUndefined();
});

test("a lease the holder holds but the keeper does not (a release that failed) is freed at the next renewal", async () => {
  const pg = await database("keeper_strays");
  const clock = new ShiftableClock();
  const { kept, leases, lost } = keeper(pg, clock);
  await kept.take("chat:7");
  expect(await leases.take("chat:8", "a", TTL)).toBeNumber();
  await kept.renewNow();
  expect((await leases.holderOf("chat:8"))?.expiresAt).toBe(0);
  expect(kept.token("chat:7")).toBeNumber();
  expect(lost).toEqual([]);
});

test("release and stop free the leases for other instances at once", async () => {
  const pg = await database("keeper_stop");
  const clock = new ShiftableClock();
  const { kept, lost } = keeper(pg, clock);
  kept.start();
  expect([...(await kept.takeMany(["chat:9", "chat:10", "chat:11"])).keys()].sort()).toEqual(["chat:10", "chat:11", "chat:9"]);
  const other = new Leases(pg.sql, clock);
  await kept.release(["chat:9"]);
  expect(await other.take("chat:9", "b", TTL)).toBeNumber();
  expect(await other.take("chat:10", "b", TTL)).toBeUndefined();
  await kept.stop();
  expect(await other.takeMany(["chat:10", "chat:11"], "b", TTL)).toHaveProperty("size", 2);
  expect(await kept.take("chat:12")).toBeUndefined();
  expect(lost).toEqual([]);
});

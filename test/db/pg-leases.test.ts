import { afterAll, expect, test } from "bun:test";
import { openPostgres, type OpenPostgres } from "../../src/db/pg/index.ts";
import { fenced, fencedAll, LeaseLostError, Leases } from "../../src/db/pg/leases.ts";
import { freshDatabase, lockWaiters } from "../pg/cluster.ts";
import { ShiftableClock } from "../runtime/support.ts";

/** Long enough that the real time a test takes never expires a lease; tests move the clock past it. */
const TTL = 60_000;
const opened: OpenPostgres[] = [];
afterAll(() => Promise.all(opened.map((pg) => pg.close())));

/** `count` pools on one fresh migrated database: one per instance. */
async function pools(name: string, count: number): Promise<OpenPostgres[]> {
  const url = await freshDatabase(name, { migrated: true });
  const result = await Promise.all(Array.from({ length: count }, () => openPostgres(url)));
  opened.push(...result);
  return result;
}

test("two holders take one lease at once: exactly one gets it, and the other is refused while it is live", async () => {
  const [a, b] = await pools("leases_contend", 2);
  const clock = new ShiftableClock();
  const results = await Promise.all([new Leases(a!.sql, clock).take("chat:1", "a", TTL), new Leases(b!.sql, clock).take("chat:1", "b", TTL)]);
  expect(results.filter((token) => token !== undefined)).toHaveLength(1);
  const holder = (await new Leases(a!.sql, clock).holderOf("chat:1"))!.holder;
  const loser = holder === "a" ? new Leases(b!.sql, clock) : new Leases(a!.sql, clock);
  clock.advance(TTL / 2);
  expect(await loser.take("chat:1", holder === "a" ? "b" : "a", TTL)).toBeUndefined();
});

test("an expired lease goes to the next taker with a higher token; the stale holder's fence throws, the new one's holds", async () => {
  const [a, b] = await pools("leases_expiry", 2);
  const clock = new ShiftableClock();
  const leasesA = new Leases(a!.sql, clock);
  const leasesB = new Leases(b!.sql, clock);
  const tokenA = (await leasesA.take("chat:2", "a", TTL))!;
  expect(tokenA).toBeNumber();
  clock.advance(TTL);
  const tokenB = (await leasesB.take("chat:2", "b", TTL))!;
  expect(tokenB).toBeGreaterThan(tokenA);

  const stale = a!.sql.begin(async (tx) => {
    await fenced(tx, "chat:2", tokenA);
    await tx`INSERT INTO settings (key, value) VALUES ('written by', 'a')`;
  });
  await expect(stale).rejects.toBeInstanceOf(LeaseLostError);
  await expect(stale).rejects.toMatchObject({ lease: "chat:2", token: tokenA, currentToken: tokenB });
  await b!.sql.begin(async (tx) => {
    await fenced(tx, "chat:2", tokenB);
    await tx`INSERT INTO settings (key, value) VALUES ('written by', 'b')`;
  });
  expect([...(await a!.sql`SELECT value FROM settings WHERE key = 'written by'`)]).toEqual([{ value: "b" }]);
});

test("a takeover waits for the old holder's fenced transaction: its writes commit before the new token exists", async () => {
  const [a, b, observer] = await pools("leases_fence_waits", 3);
  const clock = new ShiftableClock();
  const tokenA = (await new Leases(a!.sql, clock).take("chat:3", "a", TTL))!;
  const events: string[] = [];
  let takeover: Promise<number | undefined> | undefined;
  await a!.sql.begin(async (tx) => {
    await fenced(tx, "chat:3", tokenA);
    // The holder pauses mid-transaction; its lease runs out and another instance takes it over.
    clock.advance(TTL);
    takeover = new Leases(b!.sql, clock).take("chat:3", "b", TTL).then((token) => (events.push("b took it"), token));
    await lockWaiters(observer!.sql, 1);
    await tx`INSERT INTO settings (key, value) VALUES ('written by', 'a')`;
    events.push("a commits");
  });
  const tokenB = await takeover!;
  expect(events).toEqual(["a commits", "b took it"]);
  expect(tokenB).toBeGreaterThan(tokenA);
});

test("renewing does not wait for the holder's own fenced transactions, and keeps the lease past its first expiry", async () => {
  const [a, b] = await pools("leases_renew", 2);
  const clock = new ShiftableClock();
  const leasesA = new Leases(a!.sql, clock);
  const token = (await leasesA.take("chat:4", "a", TTL))!;
  await a!.sql.begin(async (tx) => {
    await fenced(tx, "chat:4", token);
    clock.advance(TTL / 2);
    expect(await leasesA.renew("a", TTL)).toEqual(new Map([["chat:4", token]]));
  });
  clock.advance(TTL * 0.75); // past the first expiry, within the renewed one
  expect(await new Leases(b!.sql, clock).take("chat:4", "b", TTL)).toBeUndefined();
  expect(await leasesA.take("chat:4", "a", TTL)).toBe(token);
});

test("renew returns only what the holder still holds: an expired lease is not renewed, even when no one took it", async () => {
  const [a] = await pools("leases_renew_expired", 1);
  const clock = new ShiftableClock();
  const leases = new Leases(a!.sql, clock);
  const old = (await leases.take("chat:5", "a", TTL))!;
  clock.advance(TTL / 2);
  const kept = (await leases.take("chat:6", "a", TTL))!;
  clock.advance(TTL / 2);
  expect(await leases.renew("a", TTL)).toEqual(new Map([["chat:6", kept]]));
  // Taking the expired one again gives it a new token: what was done under the old one is fenced off.
  expect(await leases.take("chat:5", "a", TTL)).toBeGreaterThan(old);
});

test("release frees a lease for another holder at once, with a higher token; releasing another's lease does nothing", async () => {
  const [a, b] = await pools("leases_release", 2);
  const clock = new ShiftableClock();
  const leasesA = new Leases(a!.sql, clock);
  const leasesB = new Leases(b!.sql, clock);
  const tokenA = (await leasesA.take("chat:7", "a", TTL))!;
  expect(await leasesB.release(["chat:7"], "b")).toEqual([]);
  expect(await leasesB.take("chat:7", "b", TTL)).toBeUndefined();
  expect(await leasesA.release(["chat:7", "chat:never-taken"], "a")).toEqual(["chat:7"]);
  const tokenB = (await leasesB.take("chat:7", "b", TTL))!;
  expect(tokenB).toBeGreaterThan(tokenA);
  await expect(a!.sql.begin((tx) => fenced(tx, "chat:7", tokenA))).rejects.toBeInstanceOf(LeaseLostError);
  // Released leases are taken again with new tokens, by their old holder too.
  await leasesB.release(["chat:7"], "b");
  expect(await leasesB.take("chat:7", "b", TTL)).toBeGreaterThan(tokenB);
});

test("fencedAll checks several leases in one statement and names the one that passed on", async () => {
  const [a, b] = await pools("leases_fenced_all", 2);
  const clock = new ShiftableClock();
  const leases = new Leases(a!.sql, clock);
  const tokens = await leases.takeMany(["chat:8", "chat:9", "chat:8"], "a", TTL);
  expect([...tokens.keys()].sort()).toEqual(["chat:8", "chat:9"]);
  await a!.sql.begin((tx) => fencedAll(tx, tokens));
  await leases.release(["chat:9"], "a");
  const taken = (await new Leases(b!.sql, clock).take("chat:9", "b", TTL))!;
  await expect(a!.sql.begin((tx) => fencedAll(tx, tokens))).rejects.toMatchObject({ lease: "chat:9", token: tokens.get("chat:9"), currentToken: taken });
});

test("prune deletes leases long expired, keeps live and fenced ones, and a pruned name taken again still gets a higher token", async () => {
  const [a, b] = await pools("leases_prune", 2);
  const clock = new ShiftableClock();
  const leases = new Leases(a!.sql, clock);
  const tokens = await leases.takeMany(["chat:old", "chat:fenced"], "a", TTL);
  await leases.release(["chat:old"], "a");
  clock.advance(TTL * 2);
  const live = (await leases.take("chat:live", "a", TTL))!;
  await a!.sql.begin(async (tx) => {
    await fenced(tx, "chat:fenced", tokens.get("chat:fenced")!);
    expect(await new Leases(b!.sql, clock).prune(TTL / 2)).toBe(1);
  });
  expect(await leases.holderOf("chat:old")).toBeUndefined();
  expect((await leases.holderOf("chat:fenced"))?.token).toBe(tokens.get("chat:fenced"));
  expect((await leases.holderOf("chat:live"))?.token).toBe(live);
  expect(await leases.prune(TTL / 2)).toBe(1);
  expect(await leases.take("chat:old", "a", TTL)).toBeGreaterThan(live);
  await expect(a!.sql.begin((tx) => fenced(tx, "chat:fenced", tokens.get("chat:fenced")!))).rejects.toMatchObject({ currentToken: undefined });
});

test("three instances racing for 200 names in shuffled batches: each name ends up held by exactly one, as each was told", async () => {
  const instances = await pools("leases_race", 3);
  const clock = new ShiftableClock();
  const names = Array.from({ length: 200 }, (_, i) => `chat:${i}`);
  const shuffled = (seed: number) => [...names].sort((x, y) => ((Bun.hash(x + seed) as bigint) < (Bun.hash(y + seed) as bigint) ? -1 : 1));
  const told = new Map<string, string[]>();
  await Promise.all(
    instances.flatMap((pg, i) => {
      const leases = new Leases(pg.sql, clock);
      const holder = `instance-${i}`;
      // Overlapping batches at once per instance, as claim rounds would send them; the last asks for all.
      return [0, 1, 2, 3, 4].map(async (round) => {
        const batch = shuffled(i * 10 + round).slice(0, round === 4 ? 200 : 120);
        for (const name of (await leases.takeMany(batch, holder, TTL)).keys()) told.set(name, [...(told.get(name) ?? []), holder]);
      });
    }),
  );
  const rows = await instances[0]!.sql<{ name: string; holder: string }[]>`SELECT name, holder FROM leases`;
  const inDatabase = new Map(rows.map((r) => [r.name, r.holder]));
  for (const [name, holders] of told) {
    expect(new Set(holders).size).toBe(1);
    expect(inDatabase.get(name)).toBe(holders[0]);
  }
  expect(told.size).toBe(200);
  expect(inDatabase.size).toBe(200);
});

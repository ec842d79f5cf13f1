import { afterAll, expect, test } from "bun:test";
import { openPostgres, type OpenPostgres } from "../../src/db/pg/index.ts";
import { RateLimits } from "../../src/db/pg/rate-limit.ts";
import { freshDatabase } from "../pg/cluster.ts";

const opened: OpenPostgres[] = [];
afterAll(() => Promise.all(opened.map((pg) => pg.close())));

async function pools(name: string, count: number): Promise<OpenPostgres[]> {
  const url = await freshDatabase(name, { migrated: true });
  const result = await Promise.all(Array.from({ length: count }, () => openPostgres(url)));
  opened.push(...result);
  return result;
}

const T0 = 1_800_000_000_000;

test("one client's grants are spaced by 1/rate after its burst, and a refusal says how long to wait", async () => {
  const [pg] = await pools("rate_spacing", 1);
  const limits = new RateLimits(pg!.sql);
  // 10/s, no burst: one send every 100 ms.
  expect(await limits.take("solo", 10, 1, T0)).toBe(0);
  expect(await limits.take("solo", 10, 1, T0)).toBe(100);
  expect(await limits.take("solo", 10, 1, T0 + 60)).toBe(40);
  expect(await limits.take("solo", 10, 1, T0 + 100)).toBe(0);
  expect(await limits.take("solo", 10, 1, T0 + 150)).toBe(50);
  // After a quiet second the next one goes at once, and the quiet time is not saved up beyond the burst.
  expect(await limits.take("solo", 10, 1, T0 + 1_200)).toBe(0);
  expect(await limits.take("solo", 10, 1, T0 + 1_200)).toBe(100);

  // A burst of 3 at 30/s: three at once, then one every 33⅓ ms.
  const burst = [0, 0, 0, 0].map(() => 0);
  for (let i = 0; i < 4; i++) burst[i] = await limits.take("burst", 30, 3, T0);
  expect(burst).toEqual([0, 0, 0, 34]);
  expect(await limits.take("burst", 30, 3, T0 + 34)).toBe(0);
});

test("takeUpTo grants as many as fit at once and says when the next one fits", async () => {
  const [pg] = await pools("rate_up_to", 1);
  const limits = new RateLimits(pg!.sql);
  expect(await limits.takeUpTo("batch", 5, 10, 3, T0)).toEqual({ granted: 3, waitMs: 100 });
  expect(await limits.takeUpTo("batch", 5, 10, 3, T0 + 50)).toEqual({ granted: 0, waitMs: 50 });
  expect(await limits.takeUpTo("batch", 5, 10, 3, T0 + 250)).toEqual({ granted: 2, waitMs: 50 });
  expect(await limits.takeUpTo("batch", 1, 10, 3, T0 + 1_000)).toEqual({ granted: 1, waitMs: 0 });
  await expect(limits.takeUpTo("batch", 0, 10, 3, T0)).rejects.toBeInstanceOf(RangeError);
  await expect(limits.take("batch", 0, 3, T0)).rejects.toBeInstanceOf(RangeError);
});

test("the limiter is one for every instance: a grant through one pool counts against the others", async () => {
  const [a, b] = await pools("rate_shared", 2);
  expect(await new RateLimits(a!.sql).take("shared", 10, 1, T0)).toBe(0);
  expect(await new RateLimits(b!.sql).take("shared", 10, 1, T0 + 10)).toBe(90);
});

test("three instances hammering one limiter at 30/s grant at most burst + rate × the time they asked over", async () => {
  const instances = await pools("rate_hammer", 3);
  const rate = 30;
  const burst = 5;
  const runMs = 3_000;
  const started = Date.now();
  let grants = 0;
  let asks = 0;
  let firstNow = Infinity;
  let lastNow = -Infinity;
  // Four loops per instance, each asking again as soon as it is told it may (or sooner).
  const loop = async (limits: RateLimits) => {
    while (Date.now() - started < runMs) {
      const now = Date.now();
      firstNow = Math.min(firstNow, now);
      lastNow = Math.max(lastNow, now);
      asks++;
      const wait = await limits.take("hammered", rate, burst, now);
      if (wait === 0) grants++;
      else await Bun.sleep(Math.min(wait, 5));
    }
  };
  await Promise.all(instances.flatMap((pg) => [1, 2, 3, 4].map(() => loop(new RateLimits(pg.sql)))));
  expect(grants).toBeLessThanOrEqual(burst + Math.floor((rate * (lastNow - firstNow)) / 1000));
  // The limiter did refuse: far more asks than grants.
  expect(asks).toBeGreaterThan(grants * 2);
  expect(grants).toBeGreaterThan(burst);
});

import { afterAll, expect, test } from "bun:test";
import postgres from "postgres";
import { openPostgres, type OpenPostgres } from "../../src/db/pg/index.ts";
import { NOTIFY_PAYLOAD_MAX_BYTES, packPayloads, Wakeups } from "../../src/db/pg/wakeups.ts";
import { waitFor } from "../helpers.ts";
import { freshDatabase, sharedCluster } from "../pg/cluster.ts";

const opened: OpenPostgres[] = [];
afterAll(() => Promise.all(opened.map((pg) => pg.close())));

async function pools(name: string, count: number): Promise<{ url: string; instances: OpenPostgres[] }> {
  const url = await freshDatabase(name, { migrated: true });
  const instances = await Promise.all(Array.from({ length: count }, () => openPostgres(url)));
  opened.push(...instances);
  return { url, instances };
}

/** A listener on `channel` that records each notification's keys, and each rescan it is told to do. */
async function listener(pg: OpenPostgres, channel = "timbre") {
  const notifications: string[][] = [];
  const errors: unknown[] = [];
  let reconnects = 0;
  const wakeups = new Wakeups(pg.sql, { onError: (error) => errors.push(error) });
  const listening = await wakeups.listen(channel, (keys) => notifications.push(keys), () => reconnects++);
  return {
    notifications,
    errors,
    listening,
    reconnects: () => reconnects,
    keys: () => new Set(notifications.flat()),
  };
}

test("a hint from one instance reaches another instance's listener", async () => {
  const { instances: [a, b] } = await pools("wakeups_reach", 2);
  const heard = await listener(b!);
  const errors: unknown[] = [];
  const wakeups = new Wakeups(a!.sql, { onError: (error) => errors.push(error) });
  wakeups.hint("timbre", "chat:1");
  wakeups.hint("timbre", "chat:-100200");
  wakeups.hint("elsewhere", "chat:2");
  await waitFor(() => heard.keys().has("chat:-100200"), `the hinted keys (heard so far: ${JSON.stringify(heard.notifications)})`);
  expect(heard.notifications).toEqual([["chat:1", "chat:-100200"]]);
  expect(errors).toEqual([]);
});

test("1000 hints in one turn go out as the few notifications their keys fill, each under PostgreSQL's payload limit", async () => {
  const { instances: [a, b] } = await pools("wakeups_coalesce", 2);
  const heard = await listener(b!);
  const wakeups = new Wakeups(a!.sql, { onError: (error) => heard.errors.push(error) });
  const keys = Array.from({ length: 1000 }, (_, i) => `chat:${1_000_000 + i}`);
  for (const key of keys) wakeups.hint("timbre", key);
  for (const key of keys.slice(0, 100)) wakeups.hint("timbre", key); // hinted twice, sent once
  await waitFor(() => heard.keys().size === 1000, `all 1000 keys (heard ${heard.keys().size})`);
  await wakeups.flush();
  // 13 bytes a key with its separator: 13,000 bytes fill two payloads.
  expect(heard.notifications).toHaveLength(2);
  expect(heard.notifications.flat()).toHaveLength(1000);
  expect(heard.errors).toEqual([]);
});

test("big keys are split over as many payloads as it takes, none refused", async () => {
  const { instances: [a, b] } = await pools("wakeups_split", 2);
  const heard = await listener(b!);
  const wakeups = new Wakeups(a!.sql, { onError: (error) => heard.errors.push(error) });
  const keys = Array.from({ length: 50 }, (_, i) => `${i}:`.padEnd(1_000, "é"));
  for (const key of keys) wakeups.hint("timbre", key);
  await waitFor(() => heard.keys().size === 50 || heard.errors.length > 0, "the 50 big keys");
  expect(heard.errors).toEqual([]);
  expect(heard.notifications.flat().sort()).toEqual([...keys].sort());
  expect(heard.notifications.length).toBeGreaterThan(1);
  for (const payload of packPayloads(keys)) expect(Buffer.byteLength(payload)).toBeLessThanOrEqual(NOTIFY_PAYLOAD_MAX_BYTES);
});

test("a listener whose connection is cut (and refused for a while) listens again, says to rescan, and hears hints again", async () => {
  const { url, instances: [a, b] } = await pools("wakeups_reconnect", 2);
  const database = new URL(url).pathname.slice(1);
  const admin = postgres((await sharedCluster()).url, { max: 1, onnotice: () => {} });
  try {
    const heard = await listener(b!);
    const wakeups = new Wakeups(a!.sql, { onError: (error) => heard.errors.push(error) });
    wakeups.hint("timbre", "chat:before");
    await waitFor(() => heard.keys().has("chat:before"), "the hint before the cut");
    expect(heard.reconnects()).toBe(0);

    await admin.unsafe(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS false`);
    await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${database} AND query ILIKE 'listen%'`;
    await waitFor(async () => (await admin`SELECT 1 FROM pg_stat_activity WHERE datname = ${database} AND query ILIKE 'listen%'`).length === 0, "the listening connection gone");
    await admin.unsafe(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS true`);

    await waitFor(() => heard.reconnects() === 1, "the listener listening again");
    wakeups.hint("timbre", "chat:after");
    await waitFor(() => heard.keys().has("chat:after"), "the hint after the reconnect");
    expect(heard.errors).toEqual([]);
  } finally {
    await admin.unsafe(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS true`);
    await admin.end();
  }
});

test("a hint never throws at its caller: a NOTIFY that fails is reported to onError, a bad key is refused at once", async () => {
  const { instances: [a] } = await pools("wakeups_errors", 1);
  const errors: unknown[] = [];
  const wakeups = new Wakeups(a!.sql, { onError: (error) => errors.push(error) });
  expect(() => wakeups.hint("timbre", "chat:1,chat:2")).toThrow(RangeError);
  expect(() => wakeups.hint("timbre", "")).toThrow(RangeError);
  await a!.close();
  wakeups.hint("timbre", "chat:1");
  await wakeups.flush();
  expect(errors).toHaveLength(1);
});

test("packPayloads keeps every key whole and every payload within the limit", () => {
  expect(packPayloads(["a", "bb", "ccc"], 6)).toEqual(["a,bb", "ccc"]);
  expect(packPayloads(["abcdef", "g"], 6)).toEqual(["abcdef", "g"]);
  expect(packPayloads([], 6)).toEqual([]);
  // Bytes, not characters: "é" is two.
  expect(packPayloads(["éé", "é"], 6)).toEqual(["éé", "é"]);
});

// The multi-instance rig and its scenarios with ONE instance on SQLite behind the proxy: what
// works today, so the rig itself is proven before PostgreSQL mode runs the same scenarios on three.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { tempDir } from "../helpers.ts";
import { startRig, type Rig } from "./instances.ts";
import { allCameUp, exactlyOnceInOrder, globalSendRate, killUnderLoad } from "./scenarios.ts";

const LIFTED = { AGENT: "echo", SEND_RATE_GLOBAL: "100000", SEND_RATE_PER_CHAT: "100000", SEND_CONCURRENCY: "8", MAX_CONCURRENCY: "64" };
/** One instance's scenarios: the same bound as the suite's default (test/default-timeout.ts). */
const TIMEOUT_MS = 60_000;
const dir = tempDir("timbre-multi-sqlite-");
let rig: Rig;

beforeAll(async () => {
  rig = await startRig({ instances: 1, database: { databasePath: `${dir.path}/timbre.db` }, env: LIFTED });
}, TIMEOUT_MS);
afterAll(async () => {
  await rig?.stopAll();
  dir.cleanup();
}, TIMEOUT_MS);

test("the rig refuses several instances on one SQLite file, and one database given twice or not at all", async () => {
  await expect(startRig({ instances: 2, database: { databasePath: `${dir.path}/other.db` } })).rejects.toThrow("SQLite holds one instance per file");
  await expect(startRig({ instances: 1, database: {} })).rejects.toThrow("exactly one of");
  await expect(startRig({ instances: 1, database: { databasePath: "x.db", databaseUrl: "postgres://h/db" } })).rejects.toThrow("exactly one of");
}, TIMEOUT_MS);

test("(e) the instance came up behind the proxy: healthy, takes an update, logged no error", async () => {
  const measured = await allCameUp(rig);
  expect(measured.instances).toBe(1);
}, TIMEOUT_MS);

test("(a) 3,000 updates over 300 chats, each POSTed twice (half at once): each echoed exactly once, in update_id order per chat", async () => {
  const measured = await exactlyOnceInOrder(rig);
  expect(measured).toMatchObject({ updates: 3000, posts: 6000, concurrentPairs: 1500, answeredByInstance: [6000] });
  console.log("(a) sqlite, 1 instance:", JSON.stringify(measured));
}, TIMEOUT_MS);

test("(c) kill -9 under load and a restart on the same file: every acknowledged update echoed, none twice beyond the in-flight allowance, in order", async () => {
  const measured = await killUnderLoad(rig);
  expect(rig.alive(0)).toBe(true);
  expect(rig.lines(0).filter((line) => line.includes('"msg":"timbre is serving"'))).toHaveLength(2);
  console.log("(c) sqlite, 1 instance:", JSON.stringify(measured));
}, TIMEOUT_MS);

test("(d) SEND_RATE_GLOBAL=20 holds on one instance, measured on the emulator's arrival times", async () => {
  const slow = await startRig({ instances: 1, database: { databasePath: `${dir.path}/rate.db` }, env: { ...LIFTED, SEND_RATE_GLOBAL: "20" } });
  try {
    const measured = await globalSendRate(slow, { rate: 20 });
    console.log("(d) sqlite, 1 instance:", JSON.stringify(measured));
  } finally {
    expect(await slow.stopAll()).toEqual([0]);
  }
}, TIMEOUT_MS);

// SPEC's "Several instances" with real processes: three timbre instances on one fresh PostgreSQL
// database (DATABASE_URL) behind the round-robin proxy, one emulator as Telegram. Nothing here skips.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { coachText } from "../../src/agents/coach.ts";
import { migrationJournal } from "../../src/db/pg/migrations.generated.ts";
import { freshDatabase } from "../pg/cluster.ts";
import { startRig, type Rig } from "./instances.ts";
import { allCameUp, coachAcrossInstances, exactlyOnceInOrder, globalSendRate, killUnderLoad } from "./scenarios.ts";

const INSTANCES = 3;
/** Above the suite's 60 s default (test/default-timeout.ts): three instances under load on a busy 2-core machine. */
const TIMEOUT_MS = 90_000;
const LIFTED = { SEND_RATE_GLOBAL: "100000", SEND_RATE_PER_CHAT: "100000", SEND_CONCURRENCY: "8", MAX_CONCURRENCY: "64" };

async function appliedMigrations(url: string): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`;
    return row!.n;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

describe("three instances on one PostgreSQL database", () => {
  describe("echo, send rates lifted", () => {
    let rig: Rig;
    let databaseUrl: string;
    beforeAll(async () => {
      databaseUrl = await freshDatabase("multi echo");
      rig = await startRig({ instances: INSTANCES, database: { databaseUrl }, env: { AGENT: "echo", ...LIFTED } });
    }, TIMEOUT_MS);
    afterAll(async () => {
      if (rig) expect(await rig.stopAll()).toEqual([0, 0, 0]);
    }, TIMEOUT_MS);

    test("(e) three instances started at once on an empty database all came up, and migrated it once", async () => {
      const measured = await allCameUp(rig);
      expect(measured.instances).toBe(INSTANCES);
      expect(await appliedMigrations(databaseUrl)).toBe(migrationJournal.entries.length);
      console.log("(e) postgres:", JSON.stringify(measured));
    }, TIMEOUT_MS);

    test("(a) 3,000 updates over 300 chats, each POSTed twice (half at once, to two instances): each echoed exactly once, in update_id order per chat", async () => {
      const measured = await exactlyOnceInOrder(rig);
      expect(measured).toMatchObject({ updates: 3000, posts: 6000, concurrentPairs: 1500 });
      // Round robin sends most copies of an update to two different instances.
      expect(measured.copiesOnTwoInstances).toBeGreaterThan(1500);
      console.log("(a) postgres:", JSON.stringify(measured));
    }, TIMEOUT_MS);

    test("(c) kill -9 of one of three under load: the others answer everything acknowledged, nothing sent twice beyond the in-flight allowance, its chats carry on", async () => {
      const measured = await killUnderLoad(rig, { victim: 2, clients: 8 });
      expect(rig.alive(2)).toBe(true);
      console.log("(c) postgres:", JSON.stringify(measured));
    }, TIMEOUT_MS);
  });

  describe("coach, SEND_RATE_GLOBAL=20", () => {
    const RATE = 20;
    let rig: Rig;
    beforeAll(async () => {
      const databaseUrl = await freshDatabase("multi coach");
      rig = await startRig({ instances: INSTANCES, database: { databaseUrl }, env: { AGENT: "coach", ...LIFTED, SEND_RATE_GLOBAL: String(RATE) } });
    }, TIMEOUT_MS);
    afterAll(async () => {
      if (rig) expect(await rig.stopAll()).toEqual([0, 0, 0]);
    }, TIMEOUT_MS);

    test("(e) a second set of three came up together on an empty database", async () => {
      await allCameUp(rig, { reply: () => coachText.en.goal });
    }, TIMEOUT_MS);

    test("(b) coach conversations whose every answer lands on another instance finish with their plans", async () => {
      const measured = await coachAcrossInstances(rig, { conversations: 12 });
      expect(measured.onSeveralInstances).toBe(12);
      console.log("(b) postgres:", JSON.stringify(measured.instancesUsed));
    }, TIMEOUT_MS);

    test(`(d) SEND_RATE_GLOBAL=${RATE} holds for the bot as a whole, measured on the emulator's arrival times`, async () => {
      const measured = await globalSendRate(rig, { rate: RATE });
      console.log("(d) postgres:", JSON.stringify(measured));
    }, TIMEOUT_MS);
  });
});

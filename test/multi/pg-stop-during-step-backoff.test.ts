// README "Steps": "retries: 2 means three attempts in all, however many restarts come between
// them", and "SIGTERM ... runs in flight reach a journaled point". Two instances on one PostgreSQL
// database: the chat's holder is stopped cleanly (SIGTERM) while a step waits out its backoff
// (state retrying, its run waiting). The stopping instance makes no attempt it could not journal,
// and the instance that takes the chat over (its scan finds the backoff's end passed) makes the
// other two: three calls of fn for retries: 2.
import { afterAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { tempDir, waitFor } from "../helpers.ts";
import { freshDatabase } from "../pg/cluster.ts";
import { newUser } from "../runtime/support.ts";
import { startRig, type Rig } from "../multi/instances.ts";

const dir = tempDir("timbre-audit-pg-");
const attemptsFile = join(dir.path, "attempts.log");
const agentFile = join(dir.path, "slow-flaky.ts");
writeFileSync(attemptsFile, "");
// Each attempt takes 9 s and fails; the backoff after the first is 2 s. A stop's wait (8 s, exit
// within 10 s) cannot see an attempt begun 2 s into it to its end.
writeFileSync(
  agentFile,
  `import { appendFileSync } from "node:fs";
export default async function agent(ctx) {
  try {
    await ctx.step("charge", async () => {
      appendFileSync(${JSON.stringify(attemptsFile)}, process.pid + "\\n");
      await Bun.sleep(9000);
      throw new Error("card declined");
    }, { retries: 2, backoffSeconds: 2 });
  } catch (error) {
    await ctx.reply("gave up after " + error.attempts + " attempts: " + error.message);
  }
}
`,
);

let rig: Rig | undefined;
let sql: postgres.Sql | undefined;
afterAll(async () => {
  await rig?.stopAll();
  await sql?.end({ timeout: 1 });
  dir.cleanup();
});

const attempts = () =>
  readFileSync(attemptsFile, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map(Number);

test("SIGTERM while a step waits out its backoff: retries: 2 is still three calls of fn in all, across both instances", async () => {
  const url = await freshDatabase("audit_stop_attempt");
  rig = await startRig({ instances: 2, database: { databaseUrl: url }, env: { AGENT: agentFile } });
  sql = postgres(url, { max: 1, onnotice: () => {} });
  const user = newUser("Payer");
  rig.emulator.sendText(user, "pay");

  await waitFor(
    async () => (await sql!`SELECT 1 FROM run_steps WHERE text = 'charge' AND state = 'retrying' AND attempts = 1`).length === 1,
    "the first failed attempt to be journaled as retrying",
    30_000,
  );
  const [lease] = await sql<{ holder: string }[]>`SELECT holder FROM leases WHERE name = ${`chat:${user.id}`}`;
  const pid = Number(lease!.holder.split(":")[1]);
  expect(attempts()).toEqual([pid]);
  process.kill(pid, "SIGTERM");

  await waitFor(() => rig!.emulator.sentTo(user.id).length >= 1, "the give-up reply", 90_000);
  const steps = await sql<{ state: string; attempts: number }[]>`SELECT state, attempts FROM run_steps WHERE text = 'charge'`;
  expect([...steps]).toEqual([{ state: "failed", attempts: 3 }]);
  // Three calls of fn in all: the first on the stopped instance, the other two where the chat went.
  expect({ calls: attempts().length, onStopped: attempts().filter((p) => p === pid).length }).toEqual({ calls: 3, onStopped: 1 });
}, 150_000);

// docs/several-instances.md: an instance's death costs nothing acknowledged, its chats move to the
// others within seconds. The scan for chats with work reads at most 1,000 of them: an instance
// already holding more than that many busy chats must still find a dead instance's chat (it read
// its own chats first and never reached the dead one's).
import { expect, test } from "bun:test";
import { postUpdate, textUpdate, waitFor } from "../helpers.ts";
import { freshDatabase } from "../pg/cluster.ts";
import { pgInProcessRig } from "./pg-in-process.ts";

const rig = pgInProcessRig();
const BUSY_CHATS = 1_500;

test("an instance holding more than 1,000 chats with work still takes over a dead instance's chat", async () => {
  const url = await freshDatabase("scan_beyond_own");
  // One message a second for the whole bot: every echo stays queued, so each chat keeps work here.
  const service = await rig.start(url, { AGENT: "echo", SEND_RATE_GLOBAL: "1" });
  const sql = rig.sql(url);
  for (let first = 0; first < BUSY_CHATS; first += 100) {
    const batch = Array.from({ length: 100 }, (_, i) => first + i + 1);
    const answers = await Promise.all(batch.map((n) => postUpdate(service.url, textUpdate({ id: 500_000 + n, first_name: "Busy" }, "hi", n))));
    expect(answers.map((answer) => answer.status)).toEqual(batch.map(() => 200));
  }
  await waitFor(async () => {
    const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM outbox WHERE status = 'queued'`;
    return row!.n >= BUSY_CHATS - 10;
  }, "every busy chat's echo to be queued", 30_000);

  // Instances that died holding chats with an update they acknowledged: their leases have run out.
  // Twenty of them, so the scan's unordered read cannot put them all in its first 1,000 by chance.
  const orphans = Array.from({ length: 20 }, (_, i) => 900_000_001 + i * 7_919);
  const now = Date.now();
  for (const [i, chatId] of orphans.entries()) {
    const updateId = 1_000_000 + i;
    await sql`INSERT INTO leases (name, holder, token, expires_at) VALUES (${`chat:${chatId}`}, 'dead-instance', 1, ${now - 60_000})`;
    await sql`INSERT INTO updates (update_id, chat_id, user_id, kind, payload, status, received_at, updated_at)
      VALUES (${updateId}, ${chatId}, ${chatId}, 'message', ${JSON.stringify(textUpdate({ id: chatId, first_name: "Orphan" }, "still there?", updateId))}, 'received', ${now}, ${now})`;
  }

  await waitFor(async () => {
    const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM updates WHERE update_id >= 1000000 AND status = 'received'`;
    return row!.n === 0;
  }, "every dead instance's chat to be taken over and its update routed", 10_000);
  const holders = await sql<{ holder: string }[]>`SELECT DISTINCT holder FROM leases WHERE name = ANY(${orphans.map((chatId) => `chat:${chatId}`)})`;
  expect(holders.map((row) => row.holder)).toEqual([service.holder]);
}, 90_000);

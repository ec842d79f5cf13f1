// README "Outbox" > Rates > Per chat: "The spacing is counted from Telegram's answer to the previous
// message, so Telegram never sees two closer than that, also ... on PostgreSQL when another instance
// takes the chat over: the chat then waits out the rest of the interval after the last message
// recorded as sent to it."
//
// Here the last message recorded as sent to the chat is a failed message retried by the operator
// (POST /admin/outbox/{id}/retry): it has a lower id than the chat's earlier sent message. The
// instance that takes the chat over must wait the interval after it, not after the older one.
import { expect, test } from "bun:test";
import { postUpdate, textUpdate, waitFor } from "../helpers.ts";
import { freshDatabase } from "../pg/cluster.ts";
import { newUser } from "../runtime/support.ts";
import { pgInProcessRig } from "./pg-in-process.ts";

const rig = pgInProcessRig();
const { emulator } = rig;

test("SEND_RATE_PER_CHAT=0.25 on PostgreSQL: after an admin-retried message, the instance taking the chat over still waits 4 s", async () => {
  const url = await freshDatabase("spacing_after_retry");
  const env = { AGENT: "echo", SEND_RATE_PER_CHAT: "0.25", SEND_RATE_GLOBAL: "1000" };
  const a = await rig.start(url, env);
  await rig.start(url, env);
  const sql = rig.sql(url);
  const user = newUser("RetrySpacing");
  const accepted = () => emulator.callsOf("sendMessage").filter((call) => Number(call.params.chat_id) === user.id && call.status === 200);

  // "one" is refused (the bot is blocked) and fails; then "two" goes out.
  emulator.faults.blockedChats.add(user.id);
  expect((await postUpdate(a.url, textUpdate(user, "one", 7_300_001))).status).toBe(200);
  const failedId = await waitFor(async () => {
    const [row] = await sql<{ id: number }[]>`SELECT id::int AS id FROM outbox WHERE chat_id = ${user.id} AND status = 'failed'`;
    return row?.id;
  }, "the reply to the blocked chat to fail");
  emulator.faults.blockedChats.delete(user.id);
  expect((await postUpdate(a.url, textUpdate(user, "two", 7_300_002))).status).toBe(200);
  await waitFor(() => accepted().length === 1, "the echo of two", 15_000);

  // Well after "two", the operator retries "one": it is sent (4 s after "two").
  await Bun.sleep(4500);
  expect((await a.outbox.retry(failedId)).outcome).toBe("queued");
  await waitFor(() => accepted().length === 2, "the retried echo of one", 15_000);
  await waitFor(async () => {
    const [row] = await sql<{ status: string }[]>`SELECT status FROM outbox WHERE id = ${failedId}`;
    return row?.status === "sent";
  }, "the retried message recorded sent");

  // "three" must wait 4 s after "one"; A stops cleanly meanwhile and B takes the chat over.
  expect((await postUpdate(a.url, textUpdate(user, "three", 7_300_003))).status).toBe(200);
  await waitFor(async () => {
    const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM outbox WHERE chat_id = ${user.id} AND text = 'three'`;
    return row!.n === 1;
  }, "the echo of three stored");
  await a.stop();
  rig.stopped(a);
  await waitFor(() => accepted().length === 3, "the echo of three, from B", 15_000);

  const [, retried, third] = accepted();
  expect(retried!.params.text).toBe("one");
  expect(third!.params.text).toBe("three");
  // 1 / SEND_RATE_PER_CHAT = 4 s between "one" (the last message sent) and "three".
  expect(third!.at - retried!.at).toBeGreaterThanOrEqual(4000);
}, 60_000);

// Several instances: POST /admin/outbox/{id}/retry on an instance that does not hold the chat
// answers 503 and writes nothing (it used to requeue the row where the holder never looked for
// it, so it was never sent); through the holder, or once the chat is free, it is sent.
import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import type { PgService } from "../../src/pg-app.ts";
import { postUpdate, tempDir, textUpdate, waitFor } from "../helpers.ts";
import { freshDatabase } from "../pg/cluster.ts";
import { newUser } from "../runtime/support.ts";
import { pgInProcessRig } from "./pg-in-process.ts";

const ADMIN = "audit-admin-token";
const rig = pgInProcessRig();
const { emulator } = rig;
const dir = tempDir();
afterAll(() => dir.cleanup());

test("a failed message retried through another instance than the chat's holder: 503 and nothing written; through the holder it is sent", async () => {
  const url = await freshDatabase("audit_outbox_retry");
  const agent = `${dir.path}/bot.ts`;
  // "slow" keeps the chat busy (and its lease with its instance) for a few seconds.
  writeFileSync(
    agent,
    `export default async function (ctx) {
       if (ctx.text === "slow") { await new Promise((r) => setTimeout(r, 4000)); await ctx.reply("slow done"); return; }
       await ctx.reply("echo " + ctx.text);
     }\n`,
  );
  const env = { AGENT: agent, ADMIN_TOKEN: ADMIN, SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" };
  const a = await rig.start(url, env);
  const b = await rig.start(url, env);
  const sql = rig.sql(url);
  const admin = (service: PgService, path: string, init: RequestInit = {}) =>
    fetch(`${service.url}/admin${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN}` } });
  const holderOf = async (chatId: number) => {
    const [row] = await sql<{ holder: string; expires_at: number }[]>`SELECT holder, expires_at::float8 AS expires_at FROM leases WHERE name = ${`chat:${chatId}`}`;
    return row && row.expires_at > Date.now() ? row.holder : undefined;
  };

  const user = newUser("Retry");
  emulator.faults.blockedChats.add(user.id);
  expect((await postUpdate(a.url, textUpdate(user, "first", 7_100_001))).status).toBe(200);
  const failed = await waitFor(async () => {
    const rows = (await (await admin(a, "/outbox?status=failed")).json()) as { id: number; chat_id: number; text: string }[];
    return rows.find((row) => row.chat_id === user.id);
  }, "the blocked chat's reply to fail");
  expect(failed.text).toBe("echo first");
  emulator.faults.blockedChats.delete(user.id);

  // The chat is busy on A; the operator's retry reaches B through the load balancer.
  expect((await postUpdate(a.url, textUpdate(user, "slow", 7_100_002))).status).toBe(200);
  await waitFor(async () => (await holderOf(user.id)) === a.holder, "A to hold the chat while its slow run runs");
  const elsewhere = await admin(b, `/outbox/${failed.id}/retry`, { method: "POST" });
  expect(elsewhere.status).toBe(503);
  expect(((await elsewhere.json()) as { error: string }).error).toContain("handled by another timbre instance right now");
  const [still] = await sql<{ status: string }[]>`SELECT status FROM outbox WHERE id = ${failed.id}`;
  expect(still!.status).toBe("failed");
  expect(await holderOf(user.id)).toBe(a.holder);

  // Through the chat's holder it goes back in the queue and is sent.
  expect((await admin(a, `/outbox/${failed.id}/retry`, { method: "POST" })).status).toBe(200);
  await waitFor(() => emulator.sentTo(user.id).some((m) => m.text === "slow done"), "the slow run's reply", 15_000);
  await waitFor(() => emulator.sentTo(user.id).some((m) => m.text === "echo first"), "the retried message to be sent", 15_000).catch(async (error) => {
    const [row] = await sql<{ status: string }[]>`SELECT status FROM outbox WHERE id = ${failed.id}`;
    throw new Error(`${error}; its row is ${row?.status}, the chat's lease is held by ${(await holderOf(user.id)) === a.holder ? "A" : "someone else"}; sent: ${JSON.stringify(emulator.sentTo(user.id).map((m) => m.text))}`);
  });
}, 60_000);

// On PostgreSQL a chat whose run only waits is let go; an admin cancel of that run takes the
// chat first (its fenced write used to fail with LeaseLostError: a 500, the run left waiting).
import { expect, test } from "bun:test";
import { coachText } from "../../src/agents/coach.ts";
import { connectWebhook, waitFor } from "../helpers.ts";
import { freshDatabase } from "../pg/cluster.ts";
import { newUser, Person } from "../runtime/support.ts";
import { pgInProcessRig } from "./pg-in-process.ts";

const ADMIN = "audit-admin-token";
const rig = pgInProcessRig();
const { emulator } = rig;

test("a waiting run whose chat was let go can still be cancelled through the admin API", async () => {
  const url = await freshDatabase("audit_cancel");
  const service = await rig.start(url, { AGENT: "coach", ADMIN_TOKEN: ADMIN, SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });
  await connectWebhook(emulator, service.url);
  const sql = rig.sql(url);

  const quitter = new Person(emulator, newUser("Quitter"));
  expect(await quitter.say("hi")).toBe(coachText.en.goal);
  const admin = (path: string, init: RequestInit = {}) => fetch(`${service.url}/admin${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN}` } });
  const [open] = (await (await admin("/runs?status=waiting")).json()) as { id: number }[];
  expect(open).toBeDefined();

  // The run only waits on its question: the instance lets the chat go (docs/deploy.md: "a chat
  // whose run only waits is let go"). Wait until its lease is released (expired in place).
  await waitFor(async () => {
    const [row] = await sql<{ expires_at: number }[]>`SELECT expires_at::float8 AS expires_at FROM leases WHERE name = ${`chat:${quitter.chatId}`}`;
    return row !== undefined && row.expires_at < Date.now();
  }, "the idle chat's lease to be let go", 15_000);

  const answer = await admin(`/runs/${open!.id}/cancel`, { method: "POST" });
  const body = await answer.text();
  expect({ status: answer.status, body }).toEqual({ status: 200, body: expect.stringContaining("cancelled") });
  expect(await quitter.hear()).toContain("ancel");
}, 40_000);

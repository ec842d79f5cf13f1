import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { connectWebhook, serviceEnv, startEmulator, startInProcess, tempDir, TEST_SECRET, waitFor, type Service } from "../helpers.ts";

const ADMIN_TOKEN = "admin-token-for-tests_0123456789";
const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** Every admin route, with ids that exist or not: auth is checked before anything else. */
const ROUTES: [string, string][] = [
  ["GET", "/admin/webhook"],
  ["PUT", "/admin/webhook"],
  ["DELETE", "/admin/webhook"],
  ["GET", "/admin/stats"],
  ["GET", "/admin/runs"],
  ["GET", "/admin/runs/1"],
  ["POST", "/admin/runs/1/cancel"],
  ["GET", "/admin/updates?status=failed"],
  ["POST", "/admin/updates/1/retry"],
  ["GET", "/admin/outbox?status=failed"],
  ["POST", "/admin/outbox/1/retry"],
];

let failBoom = true;
const agent: Agent = async (ctx) => {
  if (ctx.text === "boom") {
    if (failBoom) throw new Error("the agent exploded on purpose");
    await ctx.reply("recovered");
    return;
  }
  if (ctx.text === "ask me") {
    const goal = await ctx.ask("What is your goal?");
    await ctx.reply(`goal: ${goal}`);
    return;
  }
  if (ctx.text !== undefined) await ctx.reply(`echo: ${ctx.text}`);
};

const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
let service: Service;

beforeAll(async () => {
  service = await startInProcess(
    serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { ADMIN_TOKEN, SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000", SEND_MAX_ATTEMPTS: "1" }),
    { agent },
  );
  await connectWebhook(emulator, service.url);
});

afterAll(async () => {
  await service.stop();
  emulator.stop();
  dir.cleanup();
});

function admin(method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  return fetch(`${service.url}${path}`, { method, headers: { ...AUTH, ...init.headers }, ...(init.body !== undefined ? { body: init.body } : {}) });
}

async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

describe("bearer auth", () => {
  test("every admin route answers 401 naming ADMIN_TOKEN without a token or with a wrong one, and does nothing", async () => {
    const deletesBefore = emulator.callsOf("deleteWebhook").length;
    for (const [method, path] of ROUTES) {
      for (const headers of [{}, { authorization: "Bearer wrong-token" }, { authorization: ADMIN_TOKEN }, { authorization: `Basic ${ADMIN_TOKEN}` }] as Record<string, string>[]) {
        const response = await fetch(`${service.url}${path}`, { method, headers });
        expect(response.status, `${method} ${path} with ${JSON.stringify(headers)}`).toBe(401);
        expect(response.headers.get("www-authenticate")).toContain("Bearer");
        const body = await json<{ ok: boolean; error: string }>(response);
        expect(body.ok).toBe(false);
        expect(body.error).toContain("ADMIN_TOKEN");
      }
      // A success forgets this address's failures, so the brute-force limit (429) is not what is tested here.
      expect((await admin("GET", "/admin/stats")).status).toBe(200);
    }
    // A refused request is refused before validation, too.
    expect((await fetch(`${service.url}/admin/runs?limit=abc`)).status).toBe(401);
    expect(emulator.callsOf("deleteWebhook").length).toBe(deletesBefore);
    expect((await admin("GET", "/admin/stats")).status).toBe(200);
  });

  test("with ADMIN_TOKEN unset every admin route answers 401 and says how to enable it", async () => {
    const other = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/no-admin.db`));
    try {
      for (const [method, path] of ROUTES) {
        const response = await fetch(`${other.url}${path}`, { method, headers: AUTH });
        expect(response.status).toBe(401);
        expect((await json<{ error: string }>(response)).error).toContain("set ADMIN_TOKEN");
      }
    } finally {
      await other.stop();
    }
  });

  test("the bearer scheme is case-insensitive and the right token is accepted", async () => {
    expect((await admin("GET", "/admin/stats", { headers: { authorization: `bearer ${ADMIN_TOKEN}` } })).status).toBe(200);
  });
});

describe("with the token", () => {
  test("GET /admin/stats answers the documented shape with current counts", async () => {
    const user = { id: 4001, first_name: "Vi" };
    emulator.sendText(user, "hi");
    await waitFor(() => emulator.sentTo(user.id).length === 1, "the echo");
    const stats = await json(await admin("GET", "/admin/stats"));
    expect(Object.keys(stats).sort()).toEqual(["mode", "outbox", "runs", "updates", "uptime_seconds"]);
    expect(stats.mode).toBe("webhook");
    expect(Number.isInteger(stats.uptime_seconds)).toBe(true);
    expect(Object.keys(stats.updates as object).sort()).toEqual(["done", "failed", "processing", "received"]);
    expect(Object.keys(stats.runs as object).sort()).toEqual(["cancelled", "done", "failed", "running", "waiting"]);
    expect(Object.keys(stats.outbox as object).sort()).toEqual(["failed", "queued", "sending", "sent"]);
    await waitFor(async () => ((await json(await admin("GET", "/admin/stats"))).outbox as { sent: number }).sent >= 1, "the sent count");
    expect((stats.updates as { done: number; processing: number; received: number }).done + (stats.updates as { processing: number }).processing).toBeGreaterThanOrEqual(1);
  });

  test("runs: a waiting run is listed with its pending question, newest first; cancel works once, then 409; unknown id 404", async () => {
    const user = { id: 4002, first_name: "Wes" };
    emulator.sendText(user, "hi");
    await waitFor(() => emulator.sentTo(user.id).length === 1, "the echo");
    emulator.sendText(user, "ask me");
    await waitFor(() => emulator.sentTo(user.id).length === 2, "the question");

    const waiting = await json<{ id: number; status: string; chat_id: number; pending_question: { text: string; deadline_at: string } | null }[]>(
      await admin("GET", "/admin/runs?status=waiting"),
    );
    const run = waiting.find((r) => r.chat_id === user.id)!;
    expect(run.status).toBe("waiting");
    expect(run.pending_question?.text).toBe("What is your goal?");
    expect(Number.isNaN(Date.parse(run.pending_question!.deadline_at))).toBe(false);

    const all = await json<{ id: number; pending_question: unknown }[]>(await admin("GET", "/admin/runs"));
    expect(all.map((r) => r.id)).toEqual([...all.map((r) => r.id)].sort((a, b) => b - a));
    expect(all.length).toBeGreaterThanOrEqual(2);
    const one = await json<{ id: number }[]>(await admin("GET", "/admin/runs?limit=1"));
    expect(one).toHaveLength(1);
    expect(one[0]!.id).toBe(all[0]!.id);
    const older = await json<{ id: number }[]>(await admin("GET", `/admin/runs?limit=1&before=${all[0]!.id}`));
    expect(older[0]!.id).toBe(all[1]!.id);

    const cancelled = await admin("POST", `/admin/runs/${run.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(await json(cancelled)).toEqual({ ok: true, id: run.id, status: "cancelled" });
    await waitFor(() => emulator.sentTo(user.id).length === 3, "the cancellation message");
    const after = await json<{ id: number; status: string; pending_question: unknown }[]>(await admin("GET", "/admin/runs?status=cancelled"));
    expect(after.find((r) => r.id === run.id)).toMatchObject({ status: "cancelled", pending_question: null });

    const again = await admin("POST", `/admin/runs/${run.id}/cancel`);
    expect(again.status).toBe(409);
    expect((await json<{ ok: boolean; error: string }>(again)).error).toContain("cancelled");
    const unknown = await admin("POST", "/admin/runs/987654/cancel");
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toMatchObject({ ok: false });
  });

  test("updates: a failed update is a dead letter in ?status=failed; retry puts it back and it is handled; then 409; unknown 404", async () => {
    const user = { id: 4003, first_name: "Xu" };
    const update = emulator.sendText(user, "boom");
    const failed = await waitFor(async () => {
      const list = await json<{ update_id: number; status: string; error: string | null; update: { message?: { text?: string } } | null }[]>(
        await admin("GET", "/admin/updates?status=failed"),
      );
      return list.find((u) => u.update_id === update.update_id);
    }, "the update to fail");
    expect(failed.status).toBe("failed");
    expect(failed.error).toContain("exploded");
    expect(failed.update?.message?.text).toBe("boom");

    failBoom = false;
    const retried = await admin("POST", `/admin/updates/${update.update_id}/retry`);
    expect(retried.status).toBe(200);
    expect(await json(retried)).toEqual({ ok: true, update_id: update.update_id, status: "received" });
    await waitFor(() => emulator.sentTo(user.id).some((m) => m.text === "recovered"), "the retried update to be handled");
    await waitFor(async () => {
      const list = await json<{ update_id: number; status: string }[]>(await admin("GET", "/admin/updates?limit=500"));
      return list.find((u) => u.update_id === update.update_id)?.status === "done";
    }, "the retried update to be done");

    const again = await admin("POST", `/admin/updates/${update.update_id}/retry`);
    expect(again.status).toBe(409);
    expect((await json<{ error: string }>(again)).error).toContain("only failed updates");
    expect((await admin("POST", "/admin/updates/424242/retry")).status).toBe(404);
  });

  test("outbox: a message Telegram refuses shows in ?status=failed with its error", async () => {
    const user = { id: 4004, first_name: "Yan" };
    emulator.faults.blockedChats.add(user.id);
    emulator.sendText(user, "are you there?");
    const failed = await waitFor(async () => {
      const list = await json<{ chat_id: number; status: string; last_error: string | null; text: string }[]>(await admin("GET", "/admin/outbox?status=failed"));
      return list.find((m) => m.chat_id === user.id);
    }, "the failed message");
    expect(failed.text).toBe("echo: are you there?");
    expect(failed.last_error).toContain("blocked");
    emulator.faults.blockedChats.delete(user.id);
  });

  test("outbox retry: a refused message is failed in ?status=failed; retry queues it again, it is sent once and marked sent; then 409; unknown 404", async () => {
    type Message = { id: number; chat_id: number; text: string; status: string; attempts: number; last_error: string | null; message_id: number | null };
    const user = { id: 4005, first_name: "Zoe" };
    const sendsOf = (text: string) => emulator.callsOf("sendMessage").filter((c) => Number(c.params.chat_id) === user.id && c.params.text === text);
    // The user has blocked the bot: Telegram refuses the reply (403), which is never retried on its own.
    emulator.faults.blockedChats.add(user.id);
    emulator.sendText(user, "still there?");
    const failed = await waitFor(async () => {
      const list = await json<Message[]>(await admin("GET", "/admin/outbox?status=failed"));
      return list.find((m) => m.chat_id === user.id);
    }, "the refused message in ?status=failed");
    expect(failed).toMatchObject({ text: "echo: still there?", status: "failed", attempts: 1, message_id: null });
    expect(failed.last_error).toContain("blocked");
    expect(sendsOf("echo: still there?").map((c) => c.status)).toEqual([403]);

    // The user unblocks the bot; the operator retries.
    emulator.faults.blockedChats.delete(user.id);
    const retried = await admin("POST", `/admin/outbox/${failed.id}/retry`);
    expect(retried.status).toBe(200);
    const answer = await json<Message>(retried);
    expect(answer).toMatchObject({ id: failed.id, chat_id: user.id, text: "echo: still there?", status: "queued", attempts: 0, message_id: null });
    expect(answer.last_error).toBe(failed.last_error);

    await waitFor(() => emulator.sentTo(user.id).some((m) => m.text === "echo: still there?"), "the retried message to reach Telegram");
    const sent = await waitFor(async () => {
      const list = await json<Message[]>(await admin("GET", "/admin/outbox?status=sent"));
      return list.find((m) => m.id === failed.id);
    }, "the retried message to be marked sent");
    const delivered = emulator.sentTo(user.id).filter((m) => m.text === "echo: still there?");
    expect(delivered).toHaveLength(1);
    expect(sent).toMatchObject({ status: "sent", attempts: 1, last_error: null, message_id: delivered[0]!.message_id });
    expect(sendsOf("echo: still there?").map((c) => c.status)).toEqual([403, 200]);

    const again = await admin("POST", `/admin/outbox/${failed.id}/retry`);
    expect(again.status).toBe(409);
    expect(await json(again)).toEqual({ ok: false, error: `message ${failed.id} is sent; only failed messages can be retried` });
    const unknown = await admin("POST", "/admin/outbox/987654/retry");
    expect(unknown.status).toBe(404);
    expect((await json<{ ok: boolean; error: string }>(unknown)).error).toContain("GET /admin/outbox");
    // Nothing more was sent by the refused retries.
    await service.outbox.whenIdle();
    expect(sendsOf("echo: still there?")).toHaveLength(2);
  });

  test("bad params, query or body answer 400 {ok:false,error} with an actionable message", async () => {
    const cases: [string, string, string | undefined, string][] = [
      ["GET", "/admin/runs?limit=0", undefined, "limit"],
      ["GET", "/admin/runs?limit=501", undefined, "limit"],
      ["GET", "/admin/updates?limit=abc", undefined, "limit"],
      ["GET", "/admin/updates?status=bogus", undefined, "status must be one of"],
      ["GET", "/admin/runs?status=bogus", undefined, "status must be one of"],
      ["GET", "/admin/outbox?status=bogus", undefined, "status must be one of"],
      ["POST", "/admin/runs/abc/cancel", undefined, "id"],
      ["GET", "/admin/runs/abc", undefined, "id must be a whole number"],
      ["GET", "/admin/runs?conversation=", undefined, "conversation must be"],
      ["POST", "/admin/updates/1.5/retry", undefined, "id"],
      ["POST", "/admin/outbox/abc/retry", undefined, "id must be a whole number"],
      ["POST", "/admin/outbox/-3/retry", undefined, "id must be a whole number"],
      ["POST", "/admin/outbox/2.5/retry", undefined, "id must be a whole number"],
      ["DELETE", "/admin/webhook?drop_pending_updates=maybe", undefined, "drop_pending_updates"],
      ["PUT", "/admin/webhook", "{not json", "JSON"],
      ["PUT", "/admin/webhook", '{"max_connections": 0}', "max_connections"],
      ["PUT", "/admin/webhook", '{"url": 5}', "url"],
    ];
    for (const [method, path, body, mention] of cases) {
      const response = await admin(method, path, body !== undefined ? { body, headers: { "content-type": "application/json" } } : {});
      expect(response.status, `${method} ${path} ${body ?? ""}`).toBe(400);
      const answer = await json<{ ok: boolean; error: string }>(response);
      expect(answer.ok).toBe(false);
      expect(answer.error, `${method} ${path}`).toContain(mention);
    }
  });
});

describe("webhook routes", () => {
  test("GET /admin/webhook answers Telegram's WebhookInfo itself", async () => {
    const response = await admin("GET", "/admin/webhook");
    expect(response.status).toBe(200);
    const info = await json(response);
    expect(info.url).toBe(`${service.url}/telegram/webhook`);
    expect(info).toHaveProperty("pending_update_count");
    expect(info).toHaveProperty("has_custom_certificate");
    expect(info).not.toHaveProperty("ok");
  });

  test("PUT /admin/webhook sets the url with the stored secret; deliveries keep working", async () => {
    const url = `${service.url}/telegram/webhook`;
    const response = await admin("PUT", "/admin/webhook", { body: JSON.stringify({ url, max_connections: 5, allowed_updates: ["message"] }) });
    expect(response.status).toBe(200);
    expect(await json(response)).toMatchObject({ ok: true, url, max_connections: 5, allowed_updates: ["message"], certificate: false });
    const call = emulator.callsOf("setWebhook").at(-1)!;
    expect(call.params).toMatchObject({ url, secret_token: TEST_SECRET, max_connections: 5, allowed_updates: ["message"] });
    // The secret Telegram now sends is the one timbre checks: an update still gets through.
    const user = { id: 4005, first_name: "Zoe" };
    emulator.sendText(user, "still here");
    await waitFor(() => emulator.sentTo(user.id).length === 1, "the echo after PUT /admin/webhook");

    // No body: the configuration's defaults (here without PUBLIC_URL: there is no url to use).
    const empty = await admin("PUT", "/admin/webhook");
    expect(empty.status).toBe(400);
    expect((await json<{ error: string }>(empty)).error).toContain("PUBLIC_URL");
  });

  test("Telegram refusing or failing answers 502 with its description", async () => {
    const refused = await admin("PUT", "/admin/webhook", { body: JSON.stringify({ url: "ftp://bot.example.com/hook" }) });
    expect(refused.status).toBe(502);
    expect((await json<{ ok: boolean; error: string }>(refused)).error).toContain("HTTPS URL must be provided");

    emulator.faults = { ...emulator.faults, down: true, methods: ["getWebhookInfo", "deleteWebhook"] };
    try {
      const down = await admin("GET", "/admin/webhook");
      expect(down.status).toBe(502);
      expect((await json<{ error: string }>(down)).error).toContain("Bad Gateway");
      expect((await admin("DELETE", "/admin/webhook")).status).toBe(502);
    } finally {
      emulator.faults = { ...emulator.faults, down: false, methods: [] };
    }
  });

  test("a Bot API server answering 500 with a body that is not the Bot API's: 502 naming the HTTP status and the body's start", async () => {
    emulator.faults = { ...emulator.faults, methods: ["getWebhookInfo"] };
    emulator.faults.rawAnswers.push(
      { status: 500, body: "<html><body>oops: the upstream exploded</body></html>" },
      { status: 500, body: '{"ok":false}', contentType: "application/json" },
    );
    try {
      for (const bodyStart of ["<html><body>oops: the upstream exploded", '{"ok":false}']) {
        const response = await admin("GET", "/admin/webhook");
        expect(response.status).toBe(502);
        const { error } = await json<{ error: string }>(response);
        expect(error).toContain("getWebhookInfo");
        expect(error).toContain("HTTP 500");
        expect(error).toContain(bodyStart);
        expect(error).not.toContain("undefined");
      }
    } finally {
      emulator.faults = { ...emulator.faults, methods: [], rawAnswers: [] };
    }
  });

  test("PUT /admin/webhook refuses an allowed_updates entry that is not a Bot API update type (400, nothing sent); current types pass", async () => {
    const url = "https://bot.example.com/telegram/webhook";
    const before = emulator.callsOf("setWebhook").length;
    const refused = await admin("PUT", "/admin/webhook", { body: JSON.stringify({ url, allowed_updates: ["message", "not_a_type"] }) });
    expect(refused.status).toBe(400);
    const { error } = await json<{ error: string }>(refused);
    expect(error).toContain('"not_a_type" is not a Bot API update type');
    expect(error).toContain("managed_bot");
    expect(emulator.callsOf("setWebhook")).toHaveLength(before);

    const current = ["message", "managed_bot", "guest_message", "business_message"];
    const accepted = await admin("PUT", "/admin/webhook", { body: JSON.stringify({ url, allowed_updates: current }) });
    expect(accepted.status).toBe(200);
    expect(emulator.callsOf("setWebhook").at(-1)!.params.allowed_updates).toEqual(current);
    await connectWebhook(emulator, service.url);
  });

  test("Telegram unreachable answers 502 saying so", async () => {
    const other = await startInProcess({ ...serviceEnv(emulator, "http://127.0.0.1:1", `${dir.path}/unreachable.db`), ADMIN_TOKEN });
    try {
      const response = await fetch(`${other.url}/admin/webhook`, { headers: AUTH });
      expect(response.status).toBe(502);
      expect((await json<{ error: string }>(response)).error).toContain("could not reach Telegram");
    } finally {
      await other.stop();
    }
  });

  test("DELETE /admin/webhook deletes it, dropping pending updates only when asked", async () => {
    const keep = await admin("DELETE", "/admin/webhook");
    expect(keep.status).toBe(200);
    expect(await json(keep)).toEqual({ ok: true });
    expect(String(emulator.callsOf("deleteWebhook").at(-1)!.params.drop_pending_updates)).toBe("false");
    const drop = await admin("DELETE", "/admin/webhook?drop_pending_updates=true");
    expect(drop.status).toBe(200);
    expect(String(emulator.callsOf("deleteWebhook").at(-1)!.params.drop_pending_updates)).toBe("true");
    expect((await json(await admin("GET", "/admin/webhook"))).url).toBe("");
  });
});

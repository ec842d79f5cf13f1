/** The admin routes for stats, runs, updates and the outbox with the token: their shapes, cancel and retry (then 409, unknown 404), and 400s for bad input. */
import { describe, expect, test } from "bun:test";
import { waitFor } from "../helpers.ts";
import { admin, adminRoutesRig, json, routesAgent, service } from "./routes-support.ts";

let failBoom = true;
const { emulator } = adminRoutesRig(routesAgent(() => failBoom));

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

  test("outbox: ?before=<last id> pages back, as the other lists do", async () => {
    for (const text of ["one", "two", "three"]) service.outbox.enqueue({ chatId: 4711, text });
    await waitFor(() => emulator.sentTo(4711).length === 3, "three messages sent");
    const first = await json<{ id: number }[]>(await admin("GET", "/admin/outbox?limit=2"));
    expect(first).toHaveLength(2);
    const lastId = first[1]!.id;
    const next = await json<{ id: number }[]>(await admin("GET", `/admin/outbox?limit=2&before=${lastId}`));
    expect(next.length).toBeGreaterThan(0);
    for (const row of next) expect(row.id).toBeLessThan(lastId);
    expect((await admin("GET", "/admin/outbox?before=x")).status).toBe(400);
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
      // Blank, hexadecimal or signed: not read as 0, 16 or 1.
      ["POST", "/admin/runs/%20/cancel", undefined, "id must be a whole number"],
      ["GET", "/admin/runs/0x10", undefined, "id must be a whole number"],
      ["POST", "/admin/updates/+1/retry", undefined, "id must be a whole number"],
      ["GET", "/admin/updates?before=%20", undefined, "before must be a whole number"],
      ["GET", "/admin/outbox?before=1e3", undefined, "before must be a whole number"],
      ["GET", "/admin/runs?limit=1.0", undefined, "limit must be a whole number"],
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

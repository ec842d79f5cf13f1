/** The /admin/webhook routes: Telegram's WebhookInfo, setting the url with the stored secret, deleting, and 502s when Telegram refuses, fails or is unreachable. */
import { describe, expect, test } from "bun:test";
import { connectWebhook, serviceEnv, startInProcess, TEST_SECRET, waitFor } from "../helpers.ts";
import { ADMIN_TOKEN, admin, adminRoutesRig, AUTH, json, service } from "./routes-support.ts";

const { emulator, dir } = adminRoutesRig();

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

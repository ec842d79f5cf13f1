/** The sandbox page's server side: assets, the event stream, history, sending; and its absence beside a real bot. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startService } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/observability/log.ts";
import { serviceEnv, startEmulator, startInProcess, tempDir, waitFor, type Service } from "../helpers.ts";

interface StreamEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Reads a Server-Sent Events stream into a growing list of parsed events. */
async function openStream(url: string) {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  const events: StreamEvent[] = [];
  let buffer = "";
  void (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const name = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (name && data) events.push({ event: name, data: JSON.parse(data) as Record<string, unknown> });
        }
      }
    } catch {
      // aborted at the end of the test
    }
  })();
  return { response, events, close: () => controller.abort() };
}

describe("sandbox mode", () => {
  const dir = tempDir();
  let service: Service;

  beforeAll(async () => {
    service = await startService(loadConfig({ DATABASE_PATH: `${dir.path}/timbre.db`, PORT: "0", HOST: "127.0.0.1", SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }), {
      logger: silentLogger,
    });
  });

  afterAll(async () => {
    await service.stop();
    dir.cleanup();
  });

  test("serves the page and its assets with their content types", async () => {
    const page = await fetch(`${service.url}/sandbox`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const html = await page.text();
    expect(html).toContain('<link rel="stylesheet" href="/sandbox/page.css">');
    expect(html).toContain('<script type="module" src="/sandbox/page.js"></script>');

    for (const [path, type, marker] of [
      ["/sandbox/page.css", "text/css; charset=utf-8", ".bubble"],
      ["/sandbox/page.js", "text/javascript; charset=utf-8", "new EventSource("],
      ["/sandbox/page-view.js", "text/javascript; charset=utf-8", "export function messageNode("],
      ["/sandbox/page-users.js", "text/javascript; charset=utf-8", "export function setUpUserDialogs("],
      ["/sandbox/page-strings.js", "text/javascript; charset=utf-8", "export function agentHint("],
    ] as const) {
      const response = await fetch(`${service.url}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe(type);
      expect(await response.text()).toContain(marker);
    }
    expect(await (await fetch(`${service.url}/healthz`)).json()).toMatchObject({ sandbox: true });
  });

  test("the stream starts with a snapshot, then carries messages both ways, typing, and the waiting state", async () => {
    const user = { id: 424_242, first_name: "Ana", language_code: "en" };
    const stream = await openStream(`${service.url}/sandbox/events`);
    try {
      expect(stream.response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
      await waitFor(() => stream.events[0]?.event === "snapshot", "the snapshot");
      expect(stream.events[0]!.data.agent).toBe("coach");

      const sent = await fetch(`${service.url}/sandbox/send`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user, text: "hi" }) });
      expect(sent.status).toBe(200);
      expect(await sent.json()).toMatchObject({ ok: true, update_id: expect.any(Number) });

      const waiting = await waitFor(() => stream.events.find((e) => e.event === "waiting" && e.data.chat_id === user.id && e.data.question !== null), "the waiting state");
      expect(waiting.data.question).toContain("training goal");
      const messages = stream.events.filter((e) => e.event === "message").map((e) => e.data);
      expect(messages).toEqual([
        { chat_id: user.id, user, message: { message_id: 1, side: "user", text: "hi", date: expect.any(Number) } },
        { chat_id: user.id, message: { message_id: 2, side: "bot", text: waiting.data.question, date: expect.any(Number) } },
      ]);

      // What a bot's sendChatAction shows on the page.
      const action = await fetch(`${service.url}/sandbox/api/bot${service.emulator!.token}/sendChatAction`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ chat_id: user.id, action: "typing" }),
      });
      expect(action.status).toBe(200);
      await waitFor(() => stream.events.find((e) => e.event === "typing" && e.data.chat_id === user.id && e.data.action === "typing"), "the typing event");

      // The history has the same lines, in order, and the pending question.
      const history = (await (await fetch(`${service.url}/sandbox/history`)).json()) as { ok: boolean; chats: { chat_id: number; user: unknown; messages: { side: string; text: string }[]; waiting: string | null }[] };
      const chat = history.chats.find((c) => c.chat_id === user.id)!;
      expect(chat.user).toEqual(user);
      expect(chat.messages.map((m) => `${m.side}:${m.text}`)).toEqual(["user:hi", `bot:${waiting.data.question}`]);
      expect(chat.waiting).toBe(waiting.data.question as string);

      // /cancel ends the run: the waiting state is pushed as null.
      await fetch(`${service.url}/sandbox/send`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user, text: "/cancel" }) });
      await waitFor(() => stream.events.find((e) => e.event === "waiting" && e.data.chat_id === user.id && e.data.question === null), "the waiting state to clear");
      await waitFor(() => stream.events.find((e) => e.event === "message" && (e.data.message as { text: string }).text === "Cancelled."), "the cancel reply");
    } finally {
      stream.close();
    }

    // A new page (or a reconnect) gets everything in its snapshot.
    const again = await openStream(`${service.url}/sandbox/events`);
    try {
      const snapshot = await waitFor(() => again.events[0], "the second snapshot");
      const chats = snapshot.data.chats as { chat_id: number; messages: { message_id: number }[]; waiting: string | null }[];
      const chat = chats.find((c) => c.chat_id === user.id)!;
      expect(chat.messages.map((m) => m.message_id)).toEqual([1, 2, 3, 4]);
      expect(chat.waiting).toBeNull();
    } finally {
      again.close();
    }
  });

  test("the stream carries a tap's marked keyboard and notice, and users added and removed", async () => {
    const user = { id: 525_252, first_name: "Ben", language_code: "en" };
    const stream = await openStream(`${service.url}/sandbox/events`);
    const post = (path: string, body: unknown, method = "POST") =>
      fetch(`${service.url}${path}`, { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
    try {
      await waitFor(() => stream.events[0]?.event === "snapshot", "the snapshot");
      expect(await post("/sandbox/users", user)).toEqual({ status: 200, body: { ok: true, user } });
      await waitFor(() => stream.events.find((e) => e.event === "user" && (e.data.user as { id: number }).id === user.id), "the user event");

      await post("/sandbox/send", { user, text: "hi" });
      await post("/sandbox/send", { user, text: "get fit" });
      await post("/sandbox/send", { user, text: "4" });
      const level = await waitFor(() => stream.events.find((e) => e.event === "message" && (e.data.message as { buttons?: unknown }).buttons), "the level question with its buttons");
      const question = level.data.message as { message_id: number; buttons: { text: string; callback_data: string }[][] };
      expect(question.buttons.flat().map((b) => b.text)).toEqual(["Beginner", "Intermediate", "Advanced"]);

      expect((await post("/sandbox/tap", { user, message_id: question.message_id, button: "Advanced" })).status).toBe(200);
      const edited = await waitFor(() => stream.events.find((e) => e.event === "edited"), "the marked keyboard");
      expect(edited.data).toEqual({ chat_id: user.id, message: { message_id: question.message_id, side: "bot", text: expect.any(String), date: expect.any(Number), buttons: [[{ text: "✓ Advanced", callback_data: question.buttons[0]![2]!.callback_data }]] } });
      // The question is closed: a second tap is acknowledged with a notice the page shows.
      expect((await post("/sandbox/tap", { user, message_id: question.message_id, button: "✓ Advanced" })).status).toBe(200);
      const notice = await waitFor(() => stream.events.find((e) => e.event === "notice"), "the tap's notice");
      expect(notice.data).toEqual({ chat_id: user.id, text: expect.stringContaining("no longer open") });

      expect(await post(`/sandbox/users/${user.id}`, {}, "DELETE")).toEqual({ status: 200, body: { ok: true } });
      await waitFor(() => stream.events.find((e) => e.event === "removed" && e.data.chat_id === user.id), "the removed event");
      const history = (await (await fetch(`${service.url}/sandbox/history`)).json()) as { chats: { chat_id: number }[] };
      expect(history.chats.map((c) => c.chat_id)).not.toContain(user.id);
    } finally {
      stream.close();
    }
  });

  test("a send that does not name a user and a text is refused with 400 and what to fix", async () => {
    const bad = async (body: string) => {
      const response = await fetch(`${service.url}/sandbox/send`, { method: "POST", headers: { "content-type": "application/json" }, body });
      return { status: response.status, body: (await response.json()) as { ok: boolean; error: string } };
    };
    const noName = await bad(JSON.stringify({ user: { id: 1, first_name: "" }, text: "hi" }));
    expect(noName.status).toBe(400);
    expect(noName.body.ok).toBe(false);
    expect(noName.body.error).toContain("/user/first_name");
    const noText = await bad(JSON.stringify({ user: { id: 1, first_name: "A" } }));
    expect(noText.status).toBe(400);
    expect(noText.body.error).toContain("/text");
    const badId = await bad(JSON.stringify({ user: { id: -5, first_name: "A" }, text: "hi" }));
    expect(badId.status).toBe(400);
    expect(badId.body.error).toContain("/user/id");
    expect((await bad("{not json")).status).toBe(400);
    // Telegram's apps send no message that is only blanks, and a name of blanks shows as nothing.
    const blankText = await bad(JSON.stringify({ user: { id: 1, first_name: "A" }, text: "   " }));
    expect(blankText).toEqual({ status: 400, body: { ok: false, error: "text must not be only spaces" } });
    const blankName = await bad(JSON.stringify({ user: { id: 1, first_name: " \t" }, text: "hi" }));
    expect(blankName).toEqual({ status: 400, body: { ok: false, error: "user.first_name must not be only spaces" } });
  });
});

test("with TELEGRAM_BOT_TOKEN set there is no sandbox: /sandbox and its API answer 404", async () => {
  const { emulator, apiUrl } = startEmulator();
  const dir = tempDir();
  const service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`));
  try {
    expect(service.emulator).toBeUndefined();
    for (const path of ["/sandbox", "/sandbox/page.js", "/sandbox/events", "/sandbox/history", `/sandbox/api/bot${emulator.token}/getMe`]) {
      const response = await fetch(`${service.url}${path}`);
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ ok: false });
    }
    const send = await fetch(`${service.url}/sandbox/send`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user: { id: 1, first_name: "A" }, text: "hi" }) });
    expect(send.status).toBe(404);
    expect(await (await fetch(`${service.url}/healthz`)).json()).not.toHaveProperty("sandbox");
    expect(emulator.userMessages).toEqual([]);
  } finally {
    await service.stop();
    emulator.stop();
    dir.cleanup();
  }
});

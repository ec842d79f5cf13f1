import { afterEach, expect, test } from "bun:test";
import { TelegramApi } from "../../src/telegram/api.ts";
import { waitFor } from "../helpers.ts";

/** A Bot API stand-in: getMe answers at once, sendMessage never answers; it records what it got and what was aborted. */
function hangingBotApi() {
  const received: string[] = [];
  const aborted: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const method = new URL(request.url).pathname.split("/").at(-1)!;
      received.push(method);
      if (method === "getMe") return Response.json({ ok: true, result: { id: 1, is_bot: true, first_name: "B", username: "b" } });
      request.signal.addEventListener("abort", () => aborted.push(method));
      return new Promise<Response>(() => {});
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, received, aborted, stop: () => server.stop(true) };
}

let stopServer: (() => void) | undefined;
afterEach(() => stopServer?.());

test("a call with no answer times out and its request is aborted; a call beside it is not", async () => {
  const telegram = hangingBotApi();
  stopServer = telegram.stop;
  const api = new TelegramApi({ apiUrl: telegram.url, token: "1:t", timeoutMs: 300 });
  const [send, me] = await Promise.all([api.call("sendMessage", { chat_id: 1, text: "hi" }), api.call("getMe", undefined)]);
  expect(me.ok).toBe(true);
  expect(send).toMatchObject({ ok: false, code: 0, description: "no answer from Telegram within 0.3 s" });
  await waitFor(() => telegram.aborted.includes("sendMessage"), "the timed-out sendMessage request aborted");
  expect(telegram.aborted).toEqual(["sendMessage"]);
});

test("abortAll ends calls in flight, and later calls fail fast", async () => {
  const telegram = hangingBotApi();
  stopServer = telegram.stop;
  const api = new TelegramApi({ apiUrl: telegram.url, token: "1:t", timeoutMs: 30_000 });
  const send = api.call("sendMessage", { chat_id: 1, text: "hi" });
  await waitFor(() => telegram.received.includes("sendMessage"), "the sendMessage request arrived");
  api.abortAll();
  expect(await send).toMatchObject({ ok: false, code: 0 });
  await waitFor(() => telegram.aborted.includes("sendMessage"), "the sendMessage request aborted");
  expect(await api.call("getMe", undefined)).toMatchObject({ ok: false, code: 0 });
  expect(telegram.received).toEqual(["sendMessage"]);
});

test("calls share a time limit only with calls started close to them: a call started later is not ended with an earlier one", async () => {
  const telegram = hangingBotApi();
  stopServer = telegram.stop;
  const api = new TelegramApi({ apiUrl: telegram.url, token: "1:t", timeoutMs: 400 });
  const first = api.call("sendMessage", { chat_id: 1, text: "first" });
  await Bun.sleep(200);
  const laterStarted = performance.now();
  let laterDone = false;
  const later = api.call("sendMessage", { chat_id: 2, text: "later" }).finally(() => (laterDone = true));
  expect(await first).toMatchObject({ ok: false, description: "no answer from Telegram within 0.4 s" });
  await Bun.sleep(20);
  // Ended at its own limit, not held to the later call's.
  expect(laterDone).toBe(false);
  expect(await later).toMatchObject({ ok: false, description: "no answer from Telegram within 0.4 s" });
  expect(performance.now() - laterStarted).toBeGreaterThanOrEqual(400);
});

/** What the emulator's tests share: a webhook receiver on port 0, an emulator over real HTTP (stopped after each test), two users. */
import { afterEach } from "bun:test";
import { BotApiEmulator } from "../../src/sandbox/emulator.ts";

export interface Delivery {
  updateId: number;
  /** The message's chat (0 for an update that is no message). */
  chatId: number;
  secret: string | null;
  at: number;
  /** The update as delivered. */
  update: Record<string, unknown>;
}

/** What the tests started; each test file calls `stopAfterEachTest()` once. */
export const cleanups: (() => void)[] = [];

/** A webhook receiver on port 0; `answer` decides each status (and may delay). Stopped after each test. */
export function startReceiver(answer: (delivery: Delivery, attempt: number) => number | Promise<number> = () => 200) {
  const deliveries: Delivery[] = [];
  const attempts = new Map<number, number>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const body = (await request.json()) as { update_id: number; message?: { chat: { id: number } } };
      const delivery = { updateId: body.update_id, chatId: body.message?.chat.id ?? 0, secret: request.headers.get("x-telegram-bot-api-secret-token"), at: Date.now(), update: body };
      deliveries.push(delivery);
      const attempt = (attempts.get(body.update_id) ?? 0) + 1;
      attempts.set(body.update_id, attempt);
      const status = await answer(delivery, attempt);
      return new Response(status === 200 ? '{"ok":true}' : "no", { status });
    },
  });
  cleanups.push(() => server.stop(true));
  return { url: `http://127.0.0.1:${server.port}/telegram/webhook`, deliveries, stop: () => server.stop(true) };
}


export function stopAfterEachTest(): void {
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });
}

export function startEmulator() {
  const emulator = new BotApiEmulator({ token: "42:TEST-token", seed: 7 });
  emulator.webhookRetryBaseMs = 60;
  const root = emulator.listen();
  cleanups.push(() => emulator.stop());
  /** Calls a Bot API method over HTTP, as a bot would. */
  const call = async (method: string, params: Record<string, unknown> = {}, token = emulator.token) => {
    const response = await fetch(`${root}/bot${token}/${method}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(params) });
    return { status: response.status, body: (await response.json()) as { ok: boolean; result?: unknown; error_code?: number; description?: string; parameters?: Record<string, unknown> } };
  };
  return { emulator, call, root };
}

export const ana = { id: 11, first_name: "Ana", language_code: "en" };
export const ben = { id: 22, first_name: "Ben", language_code: "es" };

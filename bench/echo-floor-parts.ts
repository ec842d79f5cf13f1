// What the echo floors (bench/*-echo-floor-*.ts) share: the webhook, which reads an update and its
// text to echo and answers 200 once `store` has made it durable, one sendMessage call and the
// answers of a turn's calls gathered, and the one-writer floors' database.
import { Database } from "bun:sqlite";

export interface EchoUpdate {
  id: number;
  raw: string;
  /** The text message's chat and text; undefined for any other update. */
  reply: { chatId: number; text: string } | undefined;
}

/** Bun.serve on a free port of 127.0.0.1 (printed as `listening URL`): 400 without an update_id. */
export function serveEchoFloor(store: (update: EchoUpdate) => Promise<void>): void {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const raw = await request.text();
      const update = JSON.parse(raw) as { update_id?: unknown; message?: { chat: { id: number }; text?: string } };
      if (typeof update.update_id !== "number") return new Response('{"ok":false}', { status: 400 });
      const message = update.message;
      await store({ id: update.update_id, raw, reply: message?.text !== undefined ? { chatId: message.chat.id, text: message.text } : undefined });
      return new Response('{"ok":true}', { headers: { "content-type": "application/json" } });
    },
  });
  console.log(`listening http://127.0.0.1:${server.port}`);
}

/** One sendMessage to `url`; the sent message's id, or undefined when the Bot API refused it. */
export async function sendEcho(url: string, chatId: number, text: string): Promise<number | undefined> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ chat_id: chatId, text }) });
  const answer = (await response.json()) as { ok: boolean; result?: { message_id: number } };
  return answer.ok ? answer.result!.message_id : undefined;
}

/**
 * sendEcho for each reply, the answers gathered: `flush` gets the [reply id, message id] pairs of
 * the calls answered during one event-loop turn, once, after it.
 */
export function echoSender(url: string, flush: (answered: [number, number][]) => void): (replyId: number, chatId: number, text: string) => Promise<void> {
  let answered: [number, number][] = [];
  const flushTurn = () => {
    const turn = answered;
    answered = [];
    flush(turn);
  };
  return async (replyId, chatId, text) => {
    const messageId = await sendEcho(url, chatId, text);
    if (messageId === undefined) return;
    if (answered.length === 0) setImmediate(flushTurn);
    answered.push([replyId, messageId]);
  };
}

/** The updates and replies tables in WAL mode, each commit synchronous=FULL unless relaxed around it. */
export function openEchoFloorDatabase(path: string): Database {
  const db = new Database(path, { create: true });
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = FULL");
  db.exec("CREATE TABLE IF NOT EXISTS updates (update_id INTEGER PRIMARY KEY, payload TEXT NOT NULL, received_at INTEGER NOT NULL)");
  db.exec("CREATE TABLE IF NOT EXISTS replies (id INTEGER PRIMARY KEY, chat_id INTEGER NOT NULL, text TEXT NOT NULL, status TEXT NOT NULL, message_id INTEGER)");
  return db;
}

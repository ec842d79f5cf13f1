// The durable echo floor (bench/durable-echo-floor-server.ts) with its sendMessage calls in a Bun
// Worker (bench/send-worker-echo-floor-worker.ts): the main thread stays the only SQLite writer
// (each update and its reply, marked `sending`, in one synchronous=FULL group commit before the
// 200; the `sent` marks of what the Worker reports in one relaxed commit) and hands each turn's
// replies to the Worker in one message. It measures what moving the Bot API calls' JavaScript
// off the event loop buys, and what a second JavaScript heap costs in memory.
// Usage: bun bench/send-worker-echo-floor-server.ts DATABASE_PATH TELEGRAM_API_URL TOKEN
import { openEchoFloorDatabase, serveEchoFloor, type EchoUpdate } from "./echo-floor-parts.ts";

const [path = "send-worker-floor.db", apiUrl = "", token = ""] = process.argv.slice(2);
const db = openEchoFloorDatabase(path);
const insertUpdate = db.prepare("INSERT INTO updates (update_id, payload, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING");
const insertReply = db.prepare("INSERT INTO replies (chat_id, text, status) VALUES (?, ?, 'sending')");
const markSent = db.prepare("UPDATE replies SET status = 'sent', message_id = ? WHERE id = ?");

const worker = new Worker(new URL("./send-worker-echo-floor-worker.ts", import.meta.url).href);
worker.postMessage(`${apiUrl}/bot${token}/sendMessage`);

interface Waiting extends EchoUpdate {
  done: () => void;
}
let waiting: Waiting[] = [];
/** Stores a turn's updates and replies; answers the replies to send as [reply id, chat id, text]. */
const storeAll = db.transaction((batch: Waiting[], now: number) => {
  const sends: [number, number, string][] = [];
  for (const w of batch) {
    const stored = insertUpdate.run(w.id, w.raw, now).changes === 1;
    if (stored && w.reply) sends.push([Number(insertReply.run(w.reply.chatId, w.reply.text).lastInsertRowid), w.reply.chatId, w.reply.text]);
  }
  return sends;
});
function commit() {
  const batch = waiting;
  waiting = [];
  const sends = storeAll(batch, Date.now());
  if (sends.length > 0) worker.postMessage(sends);
  for (const w of batch) w.done();
}

const writeMarks = db.transaction((marks: [number, number][]) => {
  for (const [id, messageId] of marks) markSent.run(messageId, id);
});
worker.onmessage = (event: MessageEvent) => {
  db.exec("PRAGMA synchronous = NORMAL");
  writeMarks(event.data as [number, number][]);
  db.exec("PRAGMA synchronous = FULL");
};

serveEchoFloor(
  (update) =>
    new Promise<void>((done) => {
      if (waiting.length === 0) setImmediate(commit);
      waiting.push({ ...update, done });
    }),
);

// The durable echo floor: the least an echo bot can do and still keep timbre's guarantees for
// every text. One group commit per event-loop turn with synchronous=FULL stores each update and
// its reply, the reply already marked `sending` (so it is journaled and marked durably before
// the call); the webhook is answered after that commit; then one sendMessage per reply, and the
// `sent` marks of the answers of one turn in one relaxed commit (durable with the next FULL
// one). No validation, routing, per-chat order, rate limits, retries, metrics or Elysia: what
// is left between this and GramIO, which stores nothing, is what durability costs here.
// Usage: bun bench/durable-echo-floor-server.ts DATABASE_PATH TELEGRAM_API_URL TOKEN [route-only]
// (route-only stores the replies and sends none: the work of a bot whose send rate is spent.)
import { echoSender, openEchoFloorDatabase, serveEchoFloor } from "./echo-floor-parts.ts";

const [path = "echo-floor.db", apiUrl = "", token = "", mode = ""] = process.argv.slice(2);
const routeOnly = mode === "route-only";
const db = openEchoFloorDatabase(path);
const insertUpdate = db.prepare("INSERT INTO updates (update_id, payload, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING");
const insertReply = db.prepare<{ id: number }, [number, string]>("INSERT INTO replies (chat_id, text, status) VALUES (?, ?, 'sending') RETURNING id");
const markSent = db.prepare("UPDATE replies SET status = 'sent', message_id = ? WHERE id = ?");

interface Waiting {
  id: number;
  raw: string;
  reply: { chatId: number; text: string } | undefined;
  done: (replyId: number | undefined) => void;
}
let waiting: Waiting[] = [];
const storeAll = db.transaction((batch: Waiting[], now: number) =>
  batch.map((w) => {
    const stored = insertUpdate.run(w.id, w.raw, now).changes === 1;
    return stored && w.reply ? insertReply.get(w.reply.chatId, w.reply.text)!.id : undefined;
  }),
);
function commit() {
  const batch = waiting;
  waiting = [];
  const replyIds = storeAll(batch, Date.now());
  batch.forEach((w, i) => w.done(replyIds[i]));
}

const writeMarks = db.transaction((marks: [number, number][]) => {
  for (const [id, messageId] of marks) markSent.run(messageId, id);
});
const send = echoSender(`${apiUrl}/bot${token}/sendMessage`, (marks) => {
  db.exec("PRAGMA synchronous = NORMAL");
  writeMarks(marks);
  db.exec("PRAGMA synchronous = FULL");
});

serveEchoFloor(async ({ id, raw, reply }) => {
  const replyId = await new Promise<number | undefined>((done) => {
    if (waiting.length === 0) setImmediate(commit);
    waiting.push({ id, raw, reply, done });
  });
  if (replyId !== undefined && !routeOnly) void send(replyId, reply!.chatId, reply!.text);
});

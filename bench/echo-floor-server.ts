// The memory floor of a durable echo bot on Bun: Bun.serve, bun:sqlite (WAL + synchronous=FULL,
// one group commit per event-loop turn, answered only after it) and one fetch sendMessage per
// text. No Elysia, Drizzle, metrics, outbox table, retries or rate limits (bench/memory-floor.ts).
// Configured by the environment timbre reads: DATABASE_PATH, TELEGRAM_API_URL, TELEGRAM_BOT_TOKEN.
import { Database } from "bun:sqlite";

const db = new Database(process.env.DATABASE_PATH!, { create: true });
db.exec("PRAGMA journal_mode = WAL");
db.exec("PRAGMA synchronous = FULL");
db.exec("CREATE TABLE IF NOT EXISTS updates (update_id INTEGER PRIMARY KEY, payload TEXT NOT NULL, received_at INTEGER NOT NULL)");
const insert = db.prepare("INSERT INTO updates (update_id, payload, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING");
const storeAll = db.transaction((batch: { id: number; raw: string }[], now: number) => {
  for (const { id, raw } of batch) insert.run(id, raw, now);
});

let waiting: { id: number; raw: string; done: () => void }[] = [];
function commit() {
  const batch = waiting;
  waiting = [];
  storeAll(batch, Date.now());
  for (const { done } of batch) done();
}

const sendMessage = `${process.env.TELEGRAM_API_URL}/bot${process.env.TELEGRAM_BOT_TOKEN}/sendMessage`;
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(request) {
    const raw = await request.text();
    const update = JSON.parse(raw) as { update_id: number; message?: { chat: { id: number }; text?: string } };
    await new Promise<void>((done) => {
      if (waiting.length === 0) setImmediate(commit);
      waiting.push({ id: update.update_id, raw, done });
    });
    const message = update.message;
    if (message?.text !== undefined) {
      const body = JSON.stringify({ chat_id: message.chat.id, text: message.text });
      void fetch(sendMessage, { method: "POST", headers: { "content-type": "application/json" }, body }).then((response) => response.arrayBuffer());
    }
    return new Response('{"ok":true}', { headers: { "content-type": "application/json" } });
  },
});
// The line test/helpers.ts's spawnService waits for.
console.log(JSON.stringify({ msg: "timbre is serving", url: `http://127.0.0.1:${server.port}` }));

// The durable floor: the least a server can do and still keep SPEC's promise. A bare Bun.serve
// that parses the JSON, inserts the update with one prepared statement and answers only after
// the shared commit of its event-loop turn (group commit). No validation, no metrics, no
// processing: what is left of the gap to bare Bun.serve is the disk's fsync.
// Usage: bun bench/durable-floor-server.ts DATABASE_PATH [full|thread|off]
//   full   synchronous=FULL: COMMIT fsyncs the WAL on the event loop (the default)
//   thread synchronous=NORMAL, then the WAL's fdatasync on the thread pool (timbre's WalSync)
//   off    synchronous=OFF: no fsync at all; not durable, shows what the fsync costs
import { Database } from "bun:sqlite";
import { WalSync } from "../src/db/wal-sync.ts";

const path = process.argv[2] ?? "floor.db";
const mode = process.argv[3] ?? "full";
if (!["full", "thread", "off"].includes(mode)) throw new Error(`unknown mode ${mode}: use full, thread or off`);
const db = new Database(path, { create: true });
db.exec("PRAGMA journal_mode = WAL");
db.exec(`PRAGMA synchronous = ${mode === "full" ? "FULL" : mode === "thread" ? "NORMAL" : "OFF"}`);
db.exec("CREATE TABLE IF NOT EXISTS updates (update_id INTEGER PRIMARY KEY, payload TEXT NOT NULL, received_at INTEGER NOT NULL)");
const insert = db.prepare("INSERT INTO updates (update_id, payload, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING");
const storeAll = db.transaction((batch: { id: number; raw: string }[], now: number) => {
  for (const { id, raw } of batch) insert.run(id, raw, now);
});
const walSync = mode === "thread" ? new WalSync(`${path}-wal`) : undefined;

let waiting: { id: number; raw: string; done: () => void }[] = [];
function commit() {
  const batch = waiting;
  waiting = [];
  storeAll(batch, Date.now());
  const answer = () => {
    for (const { done } of batch) done();
  };
  if (walSync) void walSync.sync().then(answer);
  else answer();
}

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(request) {
    const raw = await request.text();
    const update = JSON.parse(raw) as { update_id?: unknown };
    if (typeof update.update_id !== "number") return new Response('{"ok":false}', { status: 400 });
    await new Promise<void>((done) => {
      if (waiting.length === 0) setImmediate(commit);
      waiting.push({ id: update.update_id as number, raw, done });
    });
    return new Response('{"ok":true}', { headers: { "content-type": "application/json" } });
  },
});
console.log(`listening http://127.0.0.1:${server.port}`);

// The split echo floor: the durable echo floor's guarantees with ingest and processing on two
// threads, each with its own SQLite connection on the same file, to measure what a runtime in
// a Bun Worker could buy on this machine before building it. The main thread stores each
// update (one relaxed commit per turn, then an fdatasync of the WAL on the thread pool) and
// answers after that sync; a Worker (bench/split-echo-floor-worker.ts) marks them done, stores
// each reply marked `sending`, syncs, sends, and writes the `sent` marks relaxed. Two writers
// share one write lock: both use busy_timeout=0 and retry a busy commit on a later turn
// instead of spinning, and only the Worker checkpoints (PASSIVE), so no commit pays for one.
// Usage: bun bench/split-echo-floor-server.ts DATABASE_PATH TELEGRAM_API_URL TOKEN [route-only]
import { Database } from "bun:sqlite";
import { fdatasync, openSync } from "node:fs";
import { serveEchoFloor, type EchoUpdate } from "./echo-floor-parts.ts";

const [path = "split-floor.db", apiUrl = "", token = "", mode = ""] = process.argv.slice(2);
const db = new Database(path, { create: true });
db.exec("PRAGMA journal_mode = WAL");
db.exec("PRAGMA synchronous = NORMAL");
db.exec("PRAGMA busy_timeout = 0");
db.exec("PRAGMA wal_autocheckpoint = 0");
db.exec("CREATE TABLE IF NOT EXISTS updates (update_id INTEGER PRIMARY KEY, payload TEXT NOT NULL, status TEXT NOT NULL, received_at INTEGER NOT NULL)");
db.exec("CREATE TABLE IF NOT EXISTS replies (id INTEGER PRIMARY KEY, chat_id INTEGER NOT NULL, text TEXT NOT NULL, status TEXT NOT NULL, message_id INTEGER)");
const wal = openSync(`${path}-wal`, "r");
const insertUpdate = db.prepare("INSERT INTO updates (update_id, payload, status, received_at) VALUES (?, ?, 'received', ?) ON CONFLICT DO NOTHING");

const worker = new Worker(new URL("./split-echo-floor-worker.ts", import.meta.url).href);
worker.postMessage({ path, apiUrl, token, routeOnly: mode === "route-only" });

interface Waiting extends EchoUpdate {
  done: () => void;
}
let waiting: Waiting[] = [];
let syncing = false;
let busyRetries = 0;
const storeAll = db.transaction((batch: Waiting[], now: number) => batch.map((w) => insertUpdate.run(w.id, w.raw, now).changes === 1));

function commit(): void {
  if (syncing || waiting.length === 0) return;
  const batch = waiting;
  let stored: boolean[];
  try {
    stored = storeAll.immediate(batch, Date.now());
  } catch (error) {
    if ((error as { code?: string }).code !== "SQLITE_BUSY") throw error;
    busyRetries++;
    setImmediate(commit);
    return;
  }
  waiting = [];
  syncing = true;
  fdatasync(wal, (error) => {
    if (error) throw error;
    syncing = false;
    const routed: [number, number, string][] = [];
    batch.forEach((w, i) => {
      if (stored[i] && w.reply) routed.push([w.id, w.reply.chatId, w.reply.text]);
      w.done();
    });
    if (routed.length > 0) worker.postMessage(routed);
    commit();
  });
}

serveEchoFloor(
  (update) =>
    new Promise<void>((done) => {
      if (waiting.length === 0) setImmediate(commit);
      waiting.push({ ...update, done });
    }),
);
process.on("SIGTERM", () => {
  console.error(`split floor: ${busyRetries} busy retries on the main thread`);
  process.exit(0);
});

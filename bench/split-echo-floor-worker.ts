// The processing half of bench/split-echo-floor-server.ts, in a Bun Worker with its own
// connection: per turn, one relaxed commit marks the updates handed over `done` and stores
// their replies marked `sending`; an fdatasync of the WAL makes it durable before the sends;
// the `sent` marks of a turn's answers go in one relaxed commit. A busy commit is retried on
// a later turn. This thread alone checkpoints, passively, every 200 commits. With route-only it
// stores the replies and sends none.
import { Database } from "bun:sqlite";
import { fdatasync, openSync } from "node:fs";
import { echoSender } from "./echo-floor-parts.ts";

declare const self: Worker;
let db: Database;
let wal: number;
let markDone: ReturnType<Database["prepare"]>;
let insertReply: ReturnType<Database["prepare"]>;
let markSent: ReturnType<Database["prepare"]>;
let send: ReturnType<typeof echoSender>;
let routeAll: (batch: [number, number, string][]) => number[];
let writeMarks: (marks: [number, number][]) => void;
let commits = 0;
let routeOnly = false;

let handedOver: [number, number, string][] = [];
let sentMarks: [number, number][] = [];
let syncing = false;

function open(path: string, apiUrl: string, token: string): void {
  db = new Database(path);
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec("PRAGMA busy_timeout = 0");
  db.exec("PRAGMA wal_autocheckpoint = 0");
  wal = openSync(`${path}-wal`, "r");
  markDone = db.prepare("UPDATE updates SET status = 'done' WHERE update_id = ?");
  insertReply = db.prepare("INSERT INTO replies (chat_id, text, status) VALUES (?, ?, 'sending')");
  markSent = db.prepare("UPDATE replies SET status = 'sent', message_id = ? WHERE id = ?");
  send = echoSender(`${apiUrl}/bot${token}/sendMessage`, (answered) => {
    sentMarks.push(...answered);
    commitMarks();
  });
  routeAll = db.transaction((batch: [number, number, string][]) =>
    batch.map(([updateId, chatId, text]) => {
      markDone.run(updateId);
      return Number(insertReply.run(chatId, text).lastInsertRowid);
    }),
  ).immediate;
  writeMarks = db.transaction((marks: [number, number][]) => {
    for (const [id, messageId] of marks) markSent.run(messageId, id);
  }).immediate;
}

/** Runs a write now (true), or false and `retry` on a later turn while the other thread holds the write lock. */
function written(write: () => void, retry: () => void): boolean {
  try {
    write();
    if (++commits % 200 === 0) db.exec("PRAGMA wal_checkpoint(PASSIVE)");
    return true;
  } catch (error) {
    if ((error as { code?: string }).code !== "SQLITE_BUSY") throw error;
    setTimeout(retry, 0);
    return false;
  }
}

function route(): void {
  if (syncing || handedOver.length === 0) return;
  const batch = handedOver;
  let ids: number[] = [];
  if (!written(() => (ids = routeAll(batch)), route)) return;
  handedOver = [];
  syncing = true;
  fdatasync(wal, (error) => {
    if (error) throw error;
    syncing = false;
    if (!routeOnly) batch.forEach(([, chatId, text], i) => void send(ids[i]!, chatId, text));
    route();
  });
}

/** Writes the marks not written yet (again on a later turn while the other thread holds the lock). */
function commitMarks(): void {
  const marks = sentMarks;
  if (marks.length > 0 && written(() => writeMarks(marks), commitMarks)) sentMarks = [];
}

self.onmessage = (event: MessageEvent) => {
  const data = event.data as { path: string; apiUrl: string; token: string; routeOnly: boolean } | [number, number, string][];
  if (!Array.isArray(data)) {
    routeOnly = data.routeOnly;
    return open(data.path, data.apiUrl, data.token);
  }
  if (handedOver.length === 0) setImmediate(route);
  for (const item of data) handedOver.push(item);
};

// The processing half of bench/split-echo-floor-server.ts, in a Bun Worker with its own
// connection: per turn, one relaxed commit marks the updates handed over `done` and stores
// their replies marked `sending`; an fdatasync of the WAL makes it durable before the sends;
// the `sent` marks of a turn's answers go in one relaxed commit. A busy commit is retried on
// a later turn. This thread alone checkpoints, passively, every 200 commits. With route-only it
// stores the replies and sends none.
import { Database } from "bun:sqlite";
import { fdatasync, openSync } from "node:fs";
import { sendEcho } from "./echo-floor-parts.ts";

declare const self: Worker;
let db: Database;
let wal: number;
let markDone: ReturnType<Database["prepare"]>;
let insertReply: ReturnType<Database["prepare"]>;
let markSent: ReturnType<Database["prepare"]>;
let sendMessage = "";
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
  sendMessage = `${apiUrl}/bot${token}/sendMessage`;
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

/** Runs a write now, or again on a later turn while the other thread holds the write lock. */
function written<T>(write: () => T, retry: () => void): T | undefined {
  try {
    const result = write();
    if (++commits % 200 === 0) db.exec("PRAGMA wal_checkpoint(PASSIVE)");
    return result;
  } catch (error) {
    if ((error as { code?: string }).code !== "SQLITE_BUSY") throw error;
    setTimeout(retry, 0);
    return undefined;
  }
}

function route(): void {
  if (syncing || handedOver.length === 0) return;
  const batch = handedOver;
  const ids = written(() => routeAll(batch), route);
  if (ids === undefined) return;
  handedOver = [];
  syncing = true;
  fdatasync(wal, (error) => {
    if (error) throw error;
    syncing = false;
    if (!routeOnly) batch.forEach(([, chatId, text], i) => void send(ids[i]!, chatId, text));
    route();
  });
}

function commitMarks(): void {
  const marks = sentMarks;
  if (written(() => writeMarks(marks), commitMarks) !== undefined) sentMarks = [];
}

async function send(replyId: number, chatId: number, text: string): Promise<void> {
  const messageId = await sendEcho(sendMessage, chatId, text);
  if (messageId === undefined) return;
  if (sentMarks.length === 0) setImmediate(commitMarks);
  sentMarks.push([replyId, messageId]);
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

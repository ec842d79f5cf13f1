// What one durable commit costs on this disk: SQLite WAL commits with synchronous=FULL (one
// fsync each) against NORMAL. The ingest ceiling follows: N connections / FULL commit time.
// Usage: bun bench/fsync.ts [commits=500]
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const commits = Number(process.argv[2] ?? 500);
const dir = mkdtempSync(join(tmpdir(), "timbre-fsync-"));
const db = new Database(join(dir, "fsync.db"), { create: true });
db.exec("PRAGMA journal_mode = WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
const payload = "x".repeat(300); // about one Telegram update

console.log(`\nfsync: ${commits} single-row commits per mode, WAL, in ${tmpdir()}\n`);
console.log("| synchronous | ms per commit | commits/s |");
console.log("| --- | --- | --- |");
for (const mode of ["FULL", "NORMAL"]) {
  db.exec(`PRAGMA synchronous = ${mode}`);
  const started = performance.now();
  for (let i = 0; i < commits; i++) db.transaction(() => insert.run(payload))();
  const ms = (performance.now() - started) / commits;
  console.log(`| ${mode} | ${ms.toFixed(3)} | ${Math.round(1000 / ms).toLocaleString("en-US")} |`);
}
db.close();
rmSync(dir, { recursive: true, force: true });

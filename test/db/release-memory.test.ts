import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { openDatabase } from "../../src/db/index.ts";
import { releaseCacheMemory } from "../../src/db/release-memory.ts";
import { readDb } from "../runtime/support.ts";
import { tempDir } from "../helpers.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

test("releasing the cache keeps every committed row, a transaction in progress, and the pragmas", () => {
  const path = join(dir.path, "release.db");
  const database = openDatabase(path);
  const { sqlite } = database;
  sqlite.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
  const insert = sqlite.prepare("INSERT INTO notes (body) VALUES (?)");
  sqlite.transaction(() => {
    for (let i = 0; i < 2000; i++) insert.run(`note ${i} `.repeat(20));
  })();
  releaseCacheMemory(sqlite);
  expect(sqlite.query("SELECT count(*) AS n FROM notes").get()).toEqual({ n: 2000 });

  // In the middle of a transaction only clean pages go; its writes stay and commit.
  sqlite.exec("BEGIN");
  insert.run("written before the release");
  releaseCacheMemory(sqlite);
  insert.run("written after it");
  sqlite.exec("COMMIT");
  expect(sqlite.query("PRAGMA synchronous").get()).toEqual({ synchronous: 2 });
  expect(sqlite.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
  // Another connection sees all of it: it was committed, not just cached.
  expect(readDb<{ n: number }>(path, "SELECT count(*) AS n FROM notes")[0]!.n).toBe(2002);
  database.close();
});

import type { Database } from "bun:sqlite";

/**
 * Frees what SQLite holds for this connection and does not need now (PRAGMA shrink_memory): the
 * clean pages of its page cache (up to 2 MB by default), which the next queries read back from
 * the file (from the OS's cache, most of the time). Dirty pages and the WAL are untouched, so
 * durability is too. For quiet moments: under load the cache is worth keeping.
 */
export function releaseCacheMemory(sqlite: Database): void {
  sqlite.exec("PRAGMA shrink_memory");
}

import type { Database } from "bun:sqlite";
import { closeSync, fdatasync, fsyncSync, openSync } from "node:fs";
import { dirname } from "node:path";

const byConnection = new WeakMap<Database, WalSync>();

/** The connection's one WalSync (closed with the database), or undefined without a WAL file (":memory:"). */
export function walSyncFor(sqlite: Database): WalSync | undefined {
  if (sqlite.filename === ":memory:" || sqlite.filename === "") return undefined;
  let walSync = byConnection.get(sqlite);
  if (!walSync) {
    walSync = new WalSync(`${sqlite.filename}-wal`);
    byConnection.set(sqlite, walSync);
  }
  return walSync;
}

/** Closes the connection's WalSync file handle, if it has one (when the database closes). */
export function closeWalSync(sqlite: Database): void {
  byConnection.get(sqlite)?.close();
  byConnection.delete(sqlite);
}

/**
 * Makes every commit written to the database's WAL so far durable, without blocking the event
 * loop: an fdatasync of the `-wal` file on the thread pool. A relaxed (synchronous=NORMAL)
 * commit followed by this is exactly what synchronous=FULL does inside COMMIT; NORMAL already
 * syncs the WAL before each checkpoint and the database file after it. The caller batches:
 * the inbox commits again only once the previous sync has ended.
 */
export class WalSync {
  private fd: number | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly walPath: string,
    /** node:fs fdatasync; a parameter so tests can count and fail syncs. */
    private readonly datasync: (fd: number, done: (error: Error | null) => void) => void = fdatasync,
  ) {}

  /** Resolves once everything committed before this call is on disk. */
  sync(): Promise<void> {
    const run: Promise<void> = this.fdatasync().finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
    return run;
  }

  /** Waits for syncs in flight (before the database closes). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.inFlight);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private fdatasync(): Promise<void> {
    return new Promise((resolve, reject) => {
      let fd: number;
      try {
        fd = this.walFile();
      } catch (error) {
        reject(error);
        return;
      }
      this.datasync(fd, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** The WAL file, opened once: SQLite deletes or replaces it only when the last connection closes. */
  private walFile(): number {
    if (this.fd !== undefined) return this.fd;
    this.fd = openSync(this.walPath, "r");
    // A new WAL's directory entry must be durable too; SQLite syncs the folder on a new WAL's first sync.
    const folder = openSync(dirname(this.walPath), "r");
    try {
      fsyncSync(folder);
    } finally {
      closeSync(folder);
    }
    return this.fd;
  }
}

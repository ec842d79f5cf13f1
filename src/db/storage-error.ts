/**
 * SQLite errors that say the storage is unavailable for now (disk full, file made read-only,
 * I/O error, locked), as opposed to a bug in a statement. A transaction that failed this way
 * committed nothing, so the work can simply be tried again once the fault clears.
 */
const TRANSIENT = /^SQLITE_(FULL|IOERR|READONLY|BUSY|LOCKED|CANTOPEN|NOMEM|PROTOCOL)/;

export function isTransientStorageError(error: unknown): boolean {
  if (!(error instanceof Error) || error.name !== "SQLiteError") return false;
  const code = (error as Error & { code?: unknown }).code;
  return typeof code === "string" && TRANSIENT.test(code);
}

import { dlopen, FFIType, read } from "bun:ffi";
import { closeSync, constants, ftruncateSync, mkdirSync, openSync, readFileSync, realpathSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { thrownMessage } from "../observability/log.ts";

/**
 * One database, one instance: an OS lock (flock) on `${DATABASE_PATH}.lock`, a file beside the
 * database (beside the file itself when DATABASE_PATH is a symlink to it), held for the life of
 * the service. The kernel drops it when the process dies, `kill -9`
 * included, so a restart never needs a manual clean-up; the stale file left behind is simply
 * locked again. The database itself is not locked: readers (`timbre backup`, scripts opening the
 * SQLite file read-only) work beside the running service.
 */

/** Another process holds the lock; the message is the one line printed before exiting. */
export class InstanceLockError extends Error {
  override name = "InstanceLockError";
  constructor(
    message: string,
    /** When another timbre holds the lock: the pid it wrote ("unknown" in the instant before it did). */
    readonly holderPid?: string,
  ) {
    super(message);
  }
}

export interface InstanceLock {
  /** The lock file (`${DATABASE_PATH}.lock`); undefined when nothing is locked (`:memory:`, or no flock here). */
  path: string | undefined;
  /** Why nothing is locked on this platform (worth a warning), when that is the case. */
  unsupported?: string;
  /** Releases the lock (idempotent). The file stays: removing it would let two processes lock two different files. */
  release(): void;
}

const LOCK_EX = 2;
const LOCK_NB = 4;

interface Libc {
  flock(fd: number, operation: number): number;
  errno(): number;
  /** EWOULDBLOCK on this platform: the lock is held elsewhere. */
  wouldBlock: number;
}

let libc: Libc | string | undefined;

/** flock from the C library through bun:ffi (works in the compiled binary too); a string says why not. */
function loadLibc(): Libc | string {
  if (libc !== undefined) return libc;
  const candidates =
    process.platform === "darwin" ? ["libc.dylib", "/usr/lib/libSystem.B.dylib"]
    : process.platform === "linux" ? ["libc.so.6", `libc.musl-${process.arch === "arm64" ? "aarch64" : "x86_64"}.so.1`, "libc.so"]
    : [];
  const errnoSymbol = process.platform === "darwin" ? "__error" : "__errno_location";
  for (const name of candidates) {
    try {
      const { symbols } = dlopen(name, {
        flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
        [errnoSymbol]: { args: [], returns: FFIType.ptr },
      });
      const errnoAt = symbols[errnoSymbol]!;
      libc = {
        flock: (fd, operation) => symbols.flock!(fd, operation) as number,
        errno: () => read.i32(errnoAt()!, 0),
        wouldBlock: process.platform === "darwin" ? 35 : 11,
      };
      return libc;
    } catch {
      // try the next name
    }
  }
  libc = `no C library with flock found on ${process.platform}/${process.arch}`;
  return libc;
}

/**
 * Takes the instance lock for `databasePath` and writes this process's pid into the lock file.
 * Throws InstanceLockError naming DATABASE_PATH and the holder's pid when another process holds it.
 */
export function holdInstanceLock(databasePath: string): InstanceLock {
  if (databasePath === ":memory:") return { path: undefined, release() {} };
  const c = loadLibc();
  if (typeof c === "string") return { path: undefined, unsupported: `${c}: a second timbre on DATABASE_PATH=${databasePath} would not be stopped`, release() {} };

  const path = `${realPathOf(databasePath)}.lock`;
  let fd: number;
  try {
    mkdirSync(dirname(path), { recursive: true });
    // Not O_TRUNC: until the lock is ours, the pid in the file is the holder's. Node/Bun open with
    // O_CLOEXEC, so a child process never inherits the lock.
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644);
  } catch (error) {
    const reason = thrownMessage(error);
    throw new InstanceLockError(`DATABASE_PATH=${JSON.stringify(databasePath)} is not usable: cannot create the lock file ${path} (${reason})`);
  }
  if (c.flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    const errno = c.errno();
    closeSync(fd);
    if (errno !== c.wouldBlock) {
      throw new InstanceLockError(`DATABASE_PATH=${JSON.stringify(databasePath)}: could not lock ${path} (flock errno ${errno}); is the folder on a file system without locks?`);
    }
    const pid = holderPid(path);
    throw new InstanceLockError(
      `DATABASE_PATH=${JSON.stringify(databasePath)} is in use by another timbre (pid ${pid}): one database serves one instance; stop that one first or give this one its own DATABASE_PATH`,
      pid,
    );
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid}\n`, 0);
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      // Closing the only descriptor of the open file releases the flock.
      closeSync(fd);
    },
  };
}

/**
 * The file the path names, through any symlink (of the file or its folders): two DATABASE_PATHs
 * naming one database must take one lock. A file not created yet: its folder's real path.
 */
function realPathOf(databasePath: string): string {
  try {
    return realpathSync(databasePath);
  } catch {
    try {
      return join(realpathSync(dirname(databasePath)), basename(databasePath));
    } catch {
      return databasePath;
    }
  }
}

/** The pid the holder wrote; "unknown" in the instant between its lock and its write. */
function holderPid(path: string): string {
  try {
    const pid = readFileSync(path, "utf8").trim();
    return /^\d+$/.test(pid) ? pid : "unknown";
  } catch {
    return "unknown";
  }
}

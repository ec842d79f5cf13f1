import type { Sql } from "postgres";

/**
 * LISTEN/NOTIFY as a wake-up hint between instances (docs/several-instances.md): after a commit,
 * the writer hints the keys (chats) that got work; the other instances' listeners hear them and
 * look at once instead of at their next poll. A hint can be lost (a NOTIFY that fails, a listener
 * reconnecting), so it only ever speeds work up: polling stays the backstop, and a listener that
 * reconnects is told to rescan.
 */

/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more (the default build). */
export const NOTIFY_PAYLOAD_MAX_BYTES = 7_999;
/** Between the keys of one payload; a key cannot contain it. */
export const KEY_SEPARATOR = ",";

export interface WakeupsOptions {
  /** A NOTIFY failed (those hints are lost; polling finds the work), or a listener's callback threw. */
  onError(error: unknown): void;
}

export interface Listening {
  unlisten(): Promise<void>;
}

/** The keys as few payloads as fit under the limit, in order. */
export function packPayloads(keys: Iterable<string>, maxBytes = NOTIFY_PAYLOAD_MAX_BYTES): string[] {
  const payloads: string[] = [];
  let current = "";
  let currentBytes = 0;
  for (const key of keys) {
    const bytes = Buffer.byteLength(key);
    if (current !== "" && currentBytes + 1 + bytes <= maxBytes) {
      current += KEY_SEPARATOR + key;
      currentBytes += 1 + bytes;
    } else {
      if (current !== "") payloads.push(current);
      current = key;
      currentBytes = bytes;
    }
  }
  if (current !== "") payloads.push(current);
  return payloads;
}

function checkKey(key: string): void {
  if (key === "" || key.includes(KEY_SEPARATOR) || Buffer.byteLength(key) > NOTIFY_PAYLOAD_MAX_BYTES) {
    throw new RangeError(`a wake-up key must be non-empty, without "${KEY_SEPARATOR}", and under ${NOTIFY_PAYLOAD_MAX_BYTES + 1} bytes: got ${JSON.stringify(key.slice(0, 80))}`);
  }
}

export class Wakeups {
  /** Keys hinted since the last flush, by channel; a Set, so a key hinted many times goes once. */
  private pending = new Map<string, Set<string>>();
  private scheduled = false;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly sql: Sql,
    private readonly options: WakeupsOptions,
  ) {}

  /**
   * Hints that `key` on `channel` has work. Call it after the commit that made the work: the
   * hints of one event-loop turn go out together, as one statement with one NOTIFY per
   * payload that fits.
   */
  hint(channel: string, key: string): void {
    checkKey(key);
    let keys = this.pending.get(channel);
    if (!keys) this.pending.set(channel, (keys = new Set()));
    keys.add(key);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => void this.flush());
  }

  /** Sends the hints collected so far now; resolves once they are sent (or failed, reported to onError). */
  flush(): Promise<void> {
    this.scheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    const channels: string[] = [];
    const payloads: string[] = [];
    for (const [channel, keys] of pending) {
      for (const payload of packPayloads(keys)) {
        channels.push(channel);
        payloads.push(payload);
      }
    }
    // One flush at a time, so notifications leave in the order they were hinted.
    this.flushing = this.flushing.then(() => (payloads.length === 0 ? undefined : this.notify(channels, payloads)));
    return this.flushing;
  }

  private async notify(channels: string[], payloads: string[]): Promise<void> {
    try {
      await this.sql`
        SELECT pg_notify(hint.channel, hint.payload)
        FROM unnest(${this.sql.array(channels)}::text[], ${this.sql.array(payloads)}::text[]) AS hint(channel, payload)`;
    } catch (error) {
      this.options.onError(error);
    }
  }

  /**
   * Calls `onKeys` with the keys of each notification on `channel` (from every instance, this one
   * included). The listening connection is postgres.js's own, which reconnects after a cut;
   * `onReconnect` is called each time it listens again, since what was hinted meanwhile is lost:
   * the caller rescans.
   */
  async listen(channel: string, onKeys: (keys: string[]) => void, onReconnect: () => void): Promise<Listening> {
    let listened = false;
    // Called from postgres.js's socket handler: a throw there would be nobody's to catch.
    const guarded = (fn: () => void) => {
      try {
        fn();
      } catch (error) {
        this.options.onError(error);
      }
    };
    const meta = await this.sql.listen(
      channel,
      (payload) => {
        const keys = payload.split(KEY_SEPARATOR).filter((key) => key !== "");
        if (keys.length > 0) guarded(() => onKeys(keys));
      },
      () => {
        if (listened) guarded(onReconnect);
        listened = true;
      },
    );
    return { unlisten: () => meta.unlisten() };
  }
}

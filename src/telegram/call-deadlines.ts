/**
 * Time limits for Bot API calls, shared by the calls that start close together: the calls with
 * the same limit started within one slot (a sixteenth of the limit, at most 1 s) share one
 * AbortController and one timer, which ends them at the slot's start plus its length plus the
 * limit. So each call is ended between `limitMs` and `limitMs + slot` after it started. Under a
 * flood of sends, a controller, its signal and a timer per call were most of the outbox's memory
 * growth (in process, 60,000 echoes 40 at a time with the send rates lifted: peak RSS 153 → 130 MB).
 */
export interface Deadline {
  signal: AbortSignal;
  /** The call is over: a slot with no call left clears its timer. */
  release(): void;
}

interface Slot {
  controller: AbortController;
  timer: ReturnType<typeof setTimeout>;
  /** Calls holding it. */
  calls: number;
  /** Calls join it until then. */
  openUntil: number;
}

const MAX_SLOT_MS = 1_000;

export class CallDeadlines {
  /** The slot open to new calls, per limit. */
  private readonly open = new Map<number, Slot>();
  /** Every slot with a call in flight (abortAll ends them). */
  private readonly live = new Set<Slot>();

  constructor(private readonly reasonFor: (limitMs: number) => Error) {}

  /** A signal that aborts with `reasonFor(limitMs)` between limitMs and limitMs plus the slot length from now. */
  take(limitMs: number): Deadline {
    const now = performance.now();
    let slot = this.open.get(limitMs);
    if (!slot || now >= slot.openUntil) {
      const length = Math.min(MAX_SLOT_MS, limitMs / 16);
      const controller = new AbortController();
      slot = { controller, calls: 0, openUntil: now + length, timer: setTimeout(() => controller.abort(this.reasonFor(limitMs)), limitMs + length) };
      this.open.set(limitMs, slot);
      this.live.add(slot);
    }
    const taken = slot;
    taken.calls++;
    let released = false;
    return {
      signal: taken.controller.signal,
      release: () => {
        if (released) return;
        released = true;
        if (--taken.calls > 0) return;
        clearTimeout(taken.timer);
        this.live.delete(taken);
        if (this.open.get(limitMs) === taken) this.open.delete(limitMs);
      },
    };
  }

  /** Ends every call in flight with `reason`. */
  abortAll(reason: Error): void {
    for (const slot of this.live) slot.controller.abort(reason);
  }
}

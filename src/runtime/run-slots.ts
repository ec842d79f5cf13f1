import type { Clock } from "../clock.ts";
import { Semaphore } from "./semaphore.ts";

export interface TypingSettings {
  /** "typing" shows after a run has worked this long (default 1 s)... */
  afterMs: number;
  /** ...and is refreshed at this interval (default 4 s). */
  everyMs: number;
}

/** A held slot: release it when the execution ends or suspends (twice is harmless). */
export interface HeldSlot {
  release(): void;
}

/**
 * MAX_CONCURRENCY executions at once, across chats. A waiting or sleeping run holds none. While
 * an execution holds its slot for a while, the chat sees "typing".
 */
export class RunSlots {
  private readonly semaphore: Semaphore;

  constructor(
    maxConcurrency: number,
    private readonly clock: Clock,
    private readonly typing: TypingSettings,
  ) {
    this.semaphore = new Semaphore(maxConcurrency);
  }

  get inUse(): number {
    return this.semaphore.inUse;
  }

  /** Waits for a slot; `showTyping` runs for this holder's chat while it holds it. */
  async acquire(showTyping: () => void): Promise<HeldSlot> {
    await this.semaphore.acquire();
    let released = false;
    let handle: { cancel(): void } | undefined;
    const tick = () => {
      if (released) return;
      showTyping();
      handle = this.clock.setTimeout(tick, this.typing.everyMs);
    };
    handle = this.clock.setTimeout(tick, this.typing.afterMs);
    return {
      release: () => {
        if (released) return;
        released = true;
        handle?.cancel();
        this.semaphore.release();
      },
    };
  }
}

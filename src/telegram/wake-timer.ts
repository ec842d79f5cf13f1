import type { Clock } from "../clock.ts";
import { detached } from "../detached.ts";

/**
 * The outbox sender's one timer: asked for several times, it keeps the earliest time asked for,
 * and then calls `onDue` once. It is how the sender waits for a chat's next due send without
 * polling.
 */
export class WakeTimer {
  private timer: { cancel(): void } | undefined;
  private timerAt = Infinity;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: () => void,
  ) {}

  /** Wakes at `at`, unless set to wake sooner already; an infinite `at` (nothing due) sets nothing. */
  sleepUntil(at: number): void {
    if (!Number.isFinite(at)) return;
    if (this.timer && this.timerAt <= at) return;
    this.timer?.cancel();
    this.timerAt = at;
    // Usually set inside the tick's commit (pickSends): the tick it wakes must not run in that transaction.
    this.timer = detached(() =>
      this.clock.setTimeout(() => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.onDue();
      }, at - this.clock.now()),
    );
  }

  cancel(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}

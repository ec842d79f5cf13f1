import type { Clock } from "../clock.ts";

/**
 * One durable deadline scheduler for question timeouts and sleeps. The deadlines live in the
 * journal; in memory there is only one timer, set for the earliest of them, so a million
 * waiting runs cost no timers. Re-armed from the journal on start and after each firing.
 */
export class DeadlineTimers {
  private timer: { cancel(): void } | undefined;
  private armedAt = Infinity;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    /** The earliest deadline stored, if any (at once on SQLite, a promise on PostgreSQL). */
    private readonly earliest: () => number | undefined | Promise<number | undefined>,
    /** Handles every deadline due at `now` (each is then settled, so `earliest` moves on). */
    private readonly fire: (now: number) => void | Promise<void>,
    /** `fire` or `earliest` threw (the database failed): reported here, tried again after `retryMs`. */
    private readonly onError: (error: unknown) => void,
    private readonly retryMs = 1_000,
  ) {}

  /** Arms for the earliest stored deadline. */
  rearm(): void {
    try {
      const at = this.earliest();
      if (at instanceof Promise) at.then((value) => this.armFor(value), (error: unknown) => this.failed(error));
      else this.armFor(at);
    } catch (error) {
      this.failed(error);
    }
  }

  /** A deadline was just committed; an earlier one than the armed one takes over. */
  added(at: number): void {
    if (at < this.armedAt) this.armFor(at);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private armFor(at: number | undefined): void {
    if (this.stopped) return;
    this.timer?.cancel();
    this.timer = undefined;
    this.armedAt = at ?? Infinity;
    if (at === undefined) return;
    this.timer = this.clock.setTimeout(() => this.onTimer(), at - this.clock.now());
  }

  private onTimer(): void {
    this.timer = undefined;
    const now = this.clock.now();
    // A long timer is clamped and fires early: wait for the rest.
    if (this.armedAt > now) return this.armFor(this.armedAt);
    this.armedAt = Infinity;
    let fired: void | Promise<void>;
    try {
      fired = this.fire(now);
    } catch (error) {
      return this.failed(error);
    }
    if (fired instanceof Promise) fired.then(() => this.rearm(), (error: unknown) => this.failed(error));
    else this.rearm();
  }

  private failed(error: unknown): void {
    this.onError(error);
    if (this.stopped) return;
    this.timer?.cancel();
    this.armedAt = this.clock.now() + this.retryMs;
    this.timer = this.clock.setTimeout(() => this.onTimer(), this.retryMs);
  }
}

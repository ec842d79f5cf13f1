import { ApiError } from "./emulator-http.ts";

/**
 * getUpdates' long poll as Telegram holds it: one poll at a time (a newer one ends the older
 * with 409), answered as soon as an update is queued, at its timeout, or when the webhook is set.
 */
export class LongPoll {
  private waiters: (() => void)[] = [];
  private active: { kick: () => void } | undefined;

  /**
   * Waits until `ready()` or `timeoutMs` passes; throws Telegram's 409 when a newer poll (or
   * `kickActive`) ends this one. `ready` is asked again at every wake-up.
   */
  async wait(timeoutMs: number, ready: () => boolean): Promise<void> {
    this.active?.kick();
    let kicked = false;
    const poll: { kick: () => void } = {
      kick: () => {
        kicked = true;
      },
    };
    this.active = poll;
    const deadline = Date.now() + timeoutMs;
    while (!ready() && Date.now() < deadline && !kicked) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        this.waiters.push(wake);
        poll.kick = () => {
          kicked = true;
          wake();
        };
      });
    }
    if (this.active === poll) this.active = undefined;
    if (kicked) throw new ApiError(409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running");
  }

  /** Ends the poll in progress with 409 (setWebhook does, as Telegram does). */
  kickActive(): void {
    this.active?.kick();
  }

  /** Lets every waiting poll look at the queue again. */
  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/** Time comes in as a parameter so tests can control it. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    // Node-style timers cap at ~24.8 days; clamp so long deadlines still fire (the owner re-checks).
    const handle = setTimeout(fn, Math.min(Math.max(0, ms), 2_000_000_000));
    return { cancel: () => clearTimeout(handle) };
  },
};

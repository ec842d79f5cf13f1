/** A token bucket: `rate` tokens a second, holding at most one second's worth (the largest burst). */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly capacity: number;
  constructor(
    private readonly rate: number,
    now: number,
  ) {
    this.capacity = Math.max(1, rate);
    this.tokens = this.capacity;
    this.last = now;
  }
  private refill(now: number) {
    this.tokens = Math.min(this.capacity, this.tokens + (Math.max(0, now - this.last) / 1000) * this.rate);
    this.last = Math.max(this.last, now);
  }
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
  nextTokenAt(now: number): number {
    this.refill(now);
    return now + Math.max(0, Math.ceil(((1 - this.tokens) / this.rate) * 1000));
  }
}

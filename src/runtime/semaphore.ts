/** Limits how many holders run at once; waiters are served first come, first served. */
export class Semaphore {
  private waiters: (() => void)[] = [];
  private held = 0;

  constructor(private readonly limit: number) {}

  get inUse(): number {
    return this.held;
  }

  acquire(): Promise<void> {
    if (this.held < this.limit) {
      this.held++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.held--;
  }
}

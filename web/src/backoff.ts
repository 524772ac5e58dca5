// Reconnect delays: exponential with jitter, so that clients cut off together
// do not come back together.

export interface BackoffOptions {
  initialMs?: number; // first delay; 500 ms
  maxMs?: number; // cap; 15 s
  factor?: number; // growth per attempt; 2
  random?: () => number; // [0, 1); Math.random
}

export class Backoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly random: () => number;

  constructor(o: BackoffOptions = {}) {
    this.initialMs = o.initialMs ?? 500;
    this.maxMs = o.maxMs ?? 15_000;
    this.factor = o.factor ?? 2;
    this.random = o.random ?? Math.random;
  }

  /**
   * next returns the delay before the next attempt: the capped exponential
   * delay scaled by a random factor in [0.5, 1), "equal jitter".
   */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * this.factor ** this.attempt);
    this.attempt++;
    return Math.round(base * (0.5 + this.random() / 2));
  }

  /** attempts returns how many delays were handed out since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** reset starts over after a connection that worked. */
  reset(): void {
    this.attempt = 0;
  }
}

// End-to-end latency of the latest events: from ingest reading the tick
// (ingest_ts) to the page handling the event, and the event rate, over a
// sliding window.

export interface LatencySummary {
  /** Events per second over the window. */
  rate: number;
  p50: number;
  p99: number;
  max: number;
  /** Latency of the newest event, milliseconds. */
  latest: number;
  samples: number;
}

export class LatencyWindow {
  private at: number[] = [];
  private ms: number[] = [];
  private head = 0;

  constructor(private readonly windowMs = 2000) {}

  /** record notes an event handled at nowMs whose tick ingest read at ingestNs. */
  record(nowMs: number, ingestNs: number): void {
    this.at.push(nowMs);
    this.ms.push(nowMs - ingestNs / 1e6);
  }

  /** summary describes the window ending at nowMs; undefined when it is empty. */
  summary(nowMs: number): LatencySummary | undefined {
    this.trim(nowMs);
    const n = this.at.length - this.head;
    if (n === 0) return undefined;
    const sorted = this.ms.slice(this.head).sort((a, b) => a - b);
    const q = (p: number) => sorted[Math.min(n - 1, Math.floor(p * n))];
    return {
      rate: (n * 1000) / this.windowMs,
      p50: q(0.5),
      p99: q(0.99),
      max: sorted[n - 1],
      latest: this.ms[this.ms.length - 1],
      samples: n,
    };
  }

  private trim(nowMs: number): void {
    while (this.head < this.at.length && this.at[this.head] < nowMs - this.windowMs) this.head++;
    if (this.head > 4096) {
      this.at = this.at.slice(this.head);
      this.ms = this.ms.slice(this.head);
      this.head = 0;
    }
  }
}

// What the tape does while a trader holds it still: new events wait in a
// bounded buffer and are counted, and join the tape on resume.

import type { FlowEvent } from "./types";

export class PauseBuffer {
  private buf: FlowEvent[] = [];
  private head = 0;
  /** Events that arrived while paused, including those the bound dropped. */
  arrived = 0;
  paused = false;

  /** capacity bounds what is kept; more than the tape holds is never shown. */
  constructor(private capacity = 5000) {}

  /** push keeps ev while paused, dropping the oldest beyond the capacity. */
  push(ev: FlowEvent): void {
    this.arrived++;
    this.buf.push(ev);
    if (this.buf.length - this.head > this.capacity) this.head++;
    if (this.head > this.capacity) {
      this.buf = this.buf.slice(this.head);
      this.head = 0;
    }
  }

  /** held returns how many events wait. */
  get held(): number {
    return this.buf.length - this.head;
  }

  /** dropped returns how many arrivals the bound let go. */
  get dropped(): number {
    return this.arrived - this.held;
  }

  /** resume ends the pause and returns the waiting events, oldest first. */
  resume(): FlowEvent[] {
    const out = this.buf.slice(this.head);
    this.clear();
    this.paused = false;
    return out;
  }

  setCapacity(n: number): void {
    this.capacity = n;
  }

  clear(): void {
    this.buf = [];
    this.head = 0;
    this.arrived = 0;
  }
}

// The bounded history behind the tape: the newest events, at most a fixed
// number, with cancels applied to the prints they retract.

import type { FlowEvent } from "./types";

/** One row of the tape. */
export interface Row {
  ev: FlowEvent;
  /** A later cancel retracted this print. */
  cancelled: boolean;
}

/**
 * History is a ring buffer of rows, newest first when read with at(). It
 * never holds more than its capacity: the oldest rows go first. It is not
 * safe to mutate rows handed out; cancel() does it.
 */
export class History {
  private ring: (Row | undefined)[];
  private start = 0; // index of the oldest row
  private count = 0;
  private byKey = new Map<string, Row>();
  // Cancels of prints not yet seen: a cancel can arrive before the print
  // it retracts (a snapshot, then a resume). Bounded like the rows.
  private pendingCancels = new Set<string>();
  /** Rows added since the start: the tape keeps its place with it. */
  added = 0;
  /** Bumped by every change, so views know when to draw again. */
  version = 0;

  constructor(private cap = 5000) {
    this.ring = new Array(cap);
  }

  get capacity(): number {
    return this.cap;
  }

  get size(): number {
    return this.count;
  }

  /** at returns the i-th newest row (0 is the newest). */
  at(i: number): Row | undefined {
    if (i < 0 || i >= this.count) return undefined;
    return this.ring[(this.start + this.count - 1 - i) % this.cap];
  }

  /** has reports whether the event with this key is held. */
  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** push appends events in arrival order: the last becomes the newest. */
  push(events: FlowEvent[]): void {
    for (const ev of events) this.pushOne(ev);
    if (events.length > 0) this.version++;
  }

  private pushOne(ev: FlowEvent): void {
    if (this.byKey.has(ev.key)) return;
    const row: Row = { ev, cancelled: this.pendingCancels.delete(ev.key) };
    if (this.count === this.cap) {
      const old = this.ring[this.start]!;
      if (this.byKey.get(old.ev.key) === old) this.byKey.delete(old.ev.key);
      this.ring[this.start] = row;
      this.start = (this.start + 1) % this.cap;
    } else {
      this.ring[(this.start + this.count) % this.cap] = row;
      this.count++;
    }
    this.byKey.set(ev.key, row);
    this.added++;
    if (ev.kind === "cancel") this.cancel(ev.cancels);
  }

  /**
   * merge inserts events of the past (a snapshot, or what a resume brought)
   * in time order among the rows held, instead of on top of newer ones.
   */
  merge(events: FlowEvent[]): void {
    const incoming = events.filter((e) => !this.byKey.has(e.key)).sort((a, b) => a.ts - b.ts);
    if (incoming.length === 0) return;
    const held: FlowEvent[] = [];
    const cancelled = new Set<string>();
    for (let i = this.count - 1; i >= 0; i--) {
      const r = this.at(i)!;
      held.push(r.ev);
      if (r.cancelled) cancelled.add(r.ev.key);
    }
    const merged: FlowEvent[] = [];
    let a = 0;
    let b = 0;
    while (a < held.length || b < incoming.length) {
      if (b >= incoming.length || (a < held.length && held[a].ts <= incoming[b].ts)) merged.push(held[a++]);
      else merged.push(incoming[b++]);
    }
    const added = this.added + incoming.length;
    this.reset();
    for (const key of cancelled) this.pendingCancels.add(key);
    for (const ev of merged) this.pushOne(ev);
    this.added = added;
    this.version++;
  }

  /** cancel strikes out the rows of these event keys, now or when they come. */
  cancel(keys: string[]): void {
    for (const key of keys) {
      const row = this.byKey.get(key);
      if (row) row.cancelled = true;
      else this.rememberCancel(key);
    }
    this.version++;
  }

  private rememberCancel(key: string): void {
    this.pendingCancels.add(key);
    if (this.pendingCancels.size > this.cap) {
      const oldest = this.pendingCancels.values().next().value;
      if (oldest !== undefined) this.pendingCancels.delete(oldest);
    }
  }

  /** rows returns the rows newest first, e.g. for a drill-down. */
  *rows(): IterableIterator<Row> {
    for (let i = 0; i < this.count; i++) yield this.at(i)!;
  }

  /** resize keeps the newest rows that fit a new capacity. */
  resize(cap: number): void {
    const keep: Row[] = [];
    for (let i = Math.min(this.count, cap) - 1; i >= 0; i--) keep.push(this.at(i)!);
    this.cap = cap;
    this.ring = new Array(cap);
    this.start = 0;
    this.count = 0;
    this.byKey.clear();
    for (const r of keep) {
      this.ring[this.count++] = r;
      this.byKey.set(r.ev.key, r);
    }
    this.version++;
  }

  private reset(): void {
    this.ring = new Array(this.cap);
    this.start = 0;
    this.count = 0;
    this.byKey.clear();
    this.pendingCancels.clear();
  }

  /** clear empties the history, e.g. for another filter. */
  clear(): void {
    this.reset();
    this.version++;
  }
}

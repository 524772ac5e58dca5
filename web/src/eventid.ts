// Event ids and what a client keeps of them: "<shard>-<ms>-<seq>", unique and
// ordered within a shard (the shard's Redis stream entry id behind the shard
// number).

/** A parsed event id. */
export interface EventId {
  shard: number;
  ms: number;
  seq: number;
}

const ID = /^(\d+)-(\d+)-(\d+)$/;

/** parseId parses an event id, or returns undefined for anything else. */
export function parseId(id: string): EventId | undefined {
  const m = ID.exec(id);
  if (!m) return undefined;
  return { shard: Number(m[1]), ms: Number(m[2]), seq: Number(m[3]) };
}

/** compareIds orders two ids of one shard: negative, zero or positive. */
export function compareIds(a: EventId, b: EventId): number {
  return a.ms - b.ms || a.seq - b.seq;
}

/**
 * ResumePoints holds the newest id seen per shard: what resume_from sends
 * after a reconnect, so the server replays exactly what was missed.
 */
export class ResumePoints {
  private last = new Map<number, { id: string; parsed: EventId }>();

  /** advance records id if it is newer than the shard's last one. */
  advance(id: string): void {
    const p = parseId(id);
    if (!p) return;
    const cur = this.last.get(p.shard);
    if (!cur || compareIds(p, cur.parsed) > 0) this.last.set(p.shard, { id, parsed: p });
  }

  /** list returns the newest id of every shard seen, by shard. */
  list(): string[] {
    return [...this.last.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v.id);
  }

  get size(): number {
    return this.last.size;
  }

  clear(): void {
    this.last.clear();
  }
}

/**
 * Seen remembers the most recent ids, up to a capacity, to drop an event
 * delivered twice: by a resume that repeats the events of a millisecond, a
 * snapshot overlapping live delivery, or two subscriptions' replays after a
 * reconnect. The oldest ids are forgotten first.
 */
export class Seen {
  private ids = new Set<string>();
  private order: string[] = [];
  private head = 0;

  constructor(private readonly capacity = 100_000) {}

  /** add records id and reports whether it was new. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    this.order.push(id);
    if (this.order.length - this.head > this.capacity) {
      this.ids.delete(this.order[this.head]);
      this.head++;
      // Compact now and then instead of shifting on every add.
      if (this.head > this.capacity) {
        this.order = this.order.slice(this.head);
        this.head = 0;
      }
    }
    return true;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  get size(): number {
    return this.ids.size;
  }

  clear(): void {
    this.ids.clear();
    this.order = [];
    this.head = 0;
  }
}

// FeedModel ties the protocol client to what the screen shows. Events are
// queued as frames arrive and worked off once per animation frame, within a
// time budget, so the page never falls behind unnoticed (the queue's length
// is the backlog). Views are told at most once per redraw interval (100 ms by
// default): a tape that moves ten times a second can be read, and the frames
// between redraws stay free for scrolling and clicks however fast events
// come. What the trader does (pause, filters) is drawn at once.

import { Aggregates } from "./aggregate";
import { AlertEngine, type AlertHit, type AlertRule } from "./alerts";
import {
  type ConnectionState,
  FeedClient,
  type Handlers,
  type Notice,
  type Origin,
  type SubscriptionSpec,
} from "./client";
import { type Filter, matches, validate } from "./filter";
import { History } from "./history";
import { LatencyWindow, type LatencySummary } from "./latency";
import { PauseBuffer } from "./pause";
import type { FlowEvent } from "./types";

/** Runs a callback before the next frame is drawn. */
export type FrameScheduler = (fn: () => void) => void;

/** browserFrames uses animation frames while the page is visible, timers while hidden. */
export const browserFrames: FrameScheduler = (fn) => {
  if (typeof document !== "undefined" && document.visibilityState === "hidden") setTimeout(fn, 100);
  else requestAnimationFrame(() => fn());
};

export interface ModelOptions {
  historySize?: number;
  /** Events a new view asks for from the past. */
  snapshot?: number;
  /** Longest time one frame spends on events, milliseconds. */
  frameBudgetMs?: number;
  /** Shortest time between two redraws caused by events, milliseconds; 0 redraws every frame. */
  redrawMs?: number;
  frames?: FrameScheduler;
  now?: () => number;
  notify?: (hit: AlertHit) => void;
}

export interface FrameStats {
  /** Events waiting to be worked off after the last frame. */
  backlog: number;
  /** Most events waiting at the start of any frame. */
  maxBacklog: number;
  /** Events worked off since the start. */
  processed: number;
}

export const VIEW = "view";

/**
 * FeedModel is the page's state outside React. Views subscribe with
 * subscribe() and read its fields when told of a change.
 */
export class FeedModel implements Handlers {
  readonly history: History;
  readonly pause: PauseBuffer;
  readonly aggregates = new Aggregates();
  readonly latency = new LatencyWindow();
  readonly alerts: AlertEngine;
  readonly frame: FrameStats = { backlog: 0, maxBacklog: 0, processed: 0 };
  client: FeedClient | undefined;
  filter: Filter;
  rules: AlertRule[] = [];
  connection: ConnectionState = { kind: "connecting", attempt: 0 };
  /** The latest notices, newest first. */
  notices: (Notice & { at: number })[] = [];
  feedOk = true;
  /** Bumped whenever views should draw again. */
  version = 0;

  private queue: { events: FlowEvent[]; origin: Origin }[] = [];
  private queued = 0;
  private scheduled = false;
  private listeners = new Set<() => void>();
  private readonly frames: FrameScheduler;
  private readonly now: () => number;
  private readonly budget: number;
  private readonly snapshot: number;
  private readonly redrawMs: number;
  private lastDraw = -Infinity;
  private dirty = false;

  constructor(filter: Filter, o: ModelOptions = {}) {
    this.filter = validate(filter);
    this.history = new History(o.historySize ?? 5000);
    this.pause = new PauseBuffer(o.historySize ?? 5000);
    this.frames = o.frames ?? browserFrames;
    this.now = o.now ?? (() => performance.timeOrigin + performance.now());
    this.budget = o.frameBudgetMs ?? 8;
    this.snapshot = o.snapshot ?? 200;
    this.redrawMs = o.redrawMs ?? 100;
    this.alerts = new AlertEngine(o.notify ?? (() => {}), () => this.now());
  }

  /** attach hands the model its client and subscribes the current view and rules. */
  attach(client: FeedClient): void {
    this.client = client;
    this.resubscribe();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** setFilter shows another view: the tape and charts start over from its snapshot. */
  setFilter(f: Filter): void {
    this.filter = validate(f);
    this.history.clear();
    this.aggregates.clear();
    this.pause.clear();
    this.queue = [];
    this.queued = 0;
    this.resubscribe();
    this.changed();
  }

  setRules(rules: AlertRule[]): void {
    this.rules = rules;
    this.alerts.setRules(rules);
    this.resubscribe();
    this.changed();
  }

  setPaused(paused: boolean): void {
    if (paused === this.pause.paused) return;
    if (paused) this.pause.paused = true;
    else this.history.push(this.pause.resume());
    this.changed();
  }

  setHistorySize(n: number): void {
    this.history.resize(n);
    this.pause.setCapacity(n);
    this.changed();
  }

  private resubscribe(): void {
    const subs = new Map<string, SubscriptionSpec>([[VIEW, { filter: this.filter, snapshot: this.snapshot }]]);
    for (const r of this.rules) {
      if (r.enabled) subs.set(`alert-${r.id}`, { filter: r.filter, snapshot: 0 });
    }
    this.client?.setSubscriptions(subs);
  }

  // Handlers of the client.

  events(events: FlowEvent[], origin: Origin): void {
    this.queue.push({ events, origin });
    this.queued += events.length;
    this.request();
  }

  state(s: ConnectionState): void {
    this.connection = s;
    this.changed();
  }

  notice(n: Notice): void {
    if (n.kind === "feed") this.feedOk = n.ok;
    this.notices.unshift({ ...n, at: this.now() });
    if (this.notices.length > 20) this.notices.length = 20;
    this.changed();
  }

  /** backlog returns the events waiting to be worked off. */
  get backlog(): number {
    return this.queued;
  }

  private request(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.frames(() => this.flush());
  }

  /** flush works off queued events within the frame budget, then tells the views once. */
  flush(): void {
    this.scheduled = false;
    this.frame.maxBacklog = Math.max(this.frame.maxBacklog, this.queued);
    const start = performance.now();
    const now = this.now();
    let n = 0;
    while (this.queue.length > 0) {
      const batch = this.queue.shift()!;
      this.queued -= batch.events.length;
      this.take(batch.events, batch.origin, now);
      n += batch.events.length;
      if (performance.now() - start > this.budget) break;
    }
    this.frame.processed += n;
    this.frame.backlog = this.queued;
    this.alerts.flush();
    this.dirty ||= n > 0;
    const t = performance.now();
    if (this.dirty && t - this.lastDraw >= this.redrawMs) {
      this.lastDraw = t;
      this.dirty = false;
      this.changed();
    }
    if (this.queue.length > 0 || this.dirty) this.request();
  }

  private take(events: FlowEvent[], origin: Origin, now: number): void {
    const view: FlowEvent[] = [];
    for (const ev of events) {
      if (origin !== "snapshot") this.alerts.check(ev);
      if (!matches(this.filter, ev)) continue; // an alert rule's event
      if (origin === "live") this.latency.record(now, ev.ingest_ts);
      this.aggregates.add(ev);
      view.push(ev);
    }
    if (view.length === 0) return;
    if (origin !== "live") {
      // The past goes in its place in time, even under a pause: it is what
      // the tape showed or should have shown.
      this.history.merge(view);
      return;
    }
    if (!this.pause.paused) {
      this.history.push(view);
      return;
    }
    for (const ev of view) {
      // A correction reaches the frozen rows at once; new prints wait.
      if (ev.kind === "cancel") this.history.cancel(ev.cancels);
      this.pause.push(ev);
    }
  }

  private summary: { at: number; value: LatencySummary | undefined } = { at: -Infinity, value: undefined };

  /**
   * latencySummary describes the latest live events. It is worked out at
   * most four times a second: the status bar asks every frame.
   */
  latencySummary(): LatencySummary | undefined {
    const now = this.now();
    if (now - this.summary.at >= 250) this.summary = { at: now, value: this.latency.summary(now) };
    return this.summary.value;
  }

  private changed(): void {
    this.version++;
    for (const l of this.listeners) l();
  }
}

// FeedClient speaks the edge's WebSocket protocol for the page: it holds a set
// of subscriptions across reconnects, resumes each from the last event id
// seen per shard (so nothing is missed and nothing repeats), recovers from
// "lagged" notices and tells the page about its connection in plain states.
//
// It is a small state machine driven by socket callbacks and timers, both
// injectable so that tests run it without a network or a clock.

import { Backoff } from "./backoff";
import { ResumePoints, Seen } from "./eventid";
import { type Filter, sameFilter } from "./filter";
import type { FlowEvent, ServerMessage } from "./types";

/** The part of the browser's WebSocket the client uses. */
export interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** Close codes of the protocol that the client treats apart. */
export const Close = {
  normal: 1000,
  abnormal: 1006,
  restarting: 1012,
  slowConsumer: 4001,
  unauthorized: 4003,
  tooManyConnections: 4004,
  tooManySubscriptions: 4005,
  tooFast: 4006,
} as const;

/** Where events came from: live delivery, a subscription's snapshot, or a resume. */
export type Origin = "live" | "snapshot" | "missed";

export type ConnectionState =
  | { kind: "connecting"; attempt: number }
  | { kind: "live"; since: number }
  | { kind: "reconnecting"; inMs: number; attempt: number; reason: string }
  | { kind: "unauthorized"; reason: string }
  | { kind: "stopped" };

export type Notice =
  | { kind: "lagged"; dropped: number; message: string }
  | { kind: "gap"; message: string }
  | { kind: "error"; subscription: string; code: string; message: string }
  | { kind: "feed"; ok: boolean; message: string };

export interface Handlers {
  events(events: FlowEvent[], origin: Origin): void;
  state(s: ConnectionState): void;
  notice(n: Notice): void;
}

/** What the page wants from one subscription. */
export interface SubscriptionSpec {
  filter: Filter;
  /** Events of history a fresh subscription asks for (0 to 1000). */
  snapshot: number;
}

export interface ClientOptions {
  /** The edge's WebSocket URL, e.g. ws://host/ws. */
  url: string;
  token?: string;
  socket?: (url: string) => SocketLike;
  schedule?: (fn: () => void, ms: number) => () => void;
  random?: () => number;
  now?: () => number;
  backoff?: Backoff;
  /** How many recent ids are remembered to drop repeats. */
  seenCapacity?: number;
}

interface Sub {
  spec: SubscriptionSpec;
  serverId: string;
  pending: boolean; // waiting for "subscribed"
  resumed: boolean; // the pending request carried resume_from
  error?: string;
  cancelRetry?: () => void;
}

/** Wait before subscribing again after the edge could not read Redis. */
const UNAVAILABLE_RETRY_MS = 2000;
/** Upper bound of the random delay before reconnecting after a 1012. */
const RESTART_JITTER_MS = 1000;
/**
 * After recovering dropped events, the next drop within this time is not
 * replayed: a page too slow for the feed would only fall further behind
 * parsing the replays. It reports the gap instead.
 */
const LAG_REPLAY_COOLDOWN_MS = 30_000;

export class FeedClient {
  private readonly opts: Required<Omit<ClientOptions, "token">>;
  private token: string | undefined;
  private socket: SocketLike | null = null;
  private open = false;
  private stopped = true;
  private cancelReconnect: (() => void) | undefined;
  private subs = new Map<string, Sub>();
  private generation = 0;
  private readonly resume = new ResumePoints();
  private readonly seen: Seen;
  // The resume points taken when a lagged notice came, kept until every
  // subscription has resumed from them: a reconnect meanwhile must start
  // from before the dropped events, not from the newer ones seen since.
  private lagResume: string[] | undefined;
  private lastLagReplay = -Infinity;

  /** Counters for the status bar and tests. */
  readonly stats = { received: 0, duplicates: 0, reconnects: 0, dropped: 0, connects: 0 };

  constructor(
    options: ClientOptions,
    private readonly on: Handlers,
  ) {
    this.token = options.token;
    this.opts = {
      url: options.url,
      socket: options.socket ?? ((u) => new WebSocket(u) as unknown as SocketLike),
      schedule:
        options.schedule ??
        ((fn, ms) => {
          const t = setTimeout(fn, ms);
          return () => clearTimeout(t);
        }),
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
      backoff: options.backoff ?? new Backoff({ random: options.random }),
      seenCapacity: options.seenCapacity ?? 100_000,
    };
    this.seen = new Seen(this.opts.seenCapacity);
  }

  /** start connects, and keeps reconnecting until stop. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  /** stop closes the connection for good. */
  stop(): void {
    this.stopped = true;
    this.cancelReconnect?.();
    this.dropSocket(Close.normal, "client stopped");
    this.on.state({ kind: "stopped" });
  }

  /** setToken connects again with another credential (undefined for none). */
  setToken(token: string | undefined): void {
    this.token = token || undefined;
    this.opts.backoff.reset();
    if (this.stopped) return;
    this.cancelReconnect?.();
    this.dropSocket(Close.normal, "new credential");
    this.connect();
  }

  /**
   * setSubscriptions makes the connection hold exactly these subscriptions,
   * by key: new keys are subscribed with their snapshot, removed ones
   * unsubscribed, and a key whose filter changed is replaced.
   */
  setSubscriptions(next: Map<string, SubscriptionSpec>): void {
    for (const [key, sub] of this.subs) {
      const want = next.get(key);
      if (want && sameFilter(want.filter, sub.spec.filter) && want.snapshot === sub.spec.snapshot) continue;
      this.unsubscribe(sub);
      this.subs.delete(key);
    }
    for (const [key, spec] of next) {
      if (this.subs.has(key)) continue;
      const sub: Sub = { spec, serverId: "", pending: false, resumed: false };
      this.subs.set(key, sub);
      this.subscribe(key, sub, false);
    }
  }

  /** subscriptionError returns why the server refused a subscription, if it did. */
  subscriptionError(key: string): string | undefined {
    return this.subs.get(key)?.error;
  }

  /** settled reports whether the connection is open and every subscription answered. */
  get settled(): boolean {
    return this.open && [...this.subs.values()].every((s) => !s.pending);
  }

  /** resumePoints returns the newest event id seen per shard. */
  resumePoints(): string[] {
    return this.resume.list();
  }

  private url(): string {
    if (!this.token) return this.opts.url;
    const sep = this.opts.url.includes("?") ? "&" : "?";
    return `${this.opts.url}${sep}access_token=${encodeURIComponent(this.token)}`;
  }

  private connect(): void {
    this.cancelReconnect = undefined;
    this.on.state({ kind: "connecting", attempt: this.opts.backoff.attempts });
    const ws = this.opts.socket(this.url());
    this.socket = ws;
    this.stats.connects++;
    ws.onopen = () => {
      if (this.socket !== ws) return;
      this.open = true;
      for (const [key, sub] of this.subs) this.subscribe(key, sub, true);
    };
    ws.onmessage = (ev) => {
      if (this.socket !== ws || typeof ev.data !== "string") return;
      let msg: ServerMessage;
      try {
        msg = JSON.parse(ev.data) as ServerMessage;
      } catch {
        return; // the server sends JSON only; a broken frame is ignored
      }
      this.handle(msg);
    };
    ws.onclose = (ev) => {
      if (this.socket !== ws) return;
      this.socket = null;
      this.open = false;
      this.closed(ev.code, ev.reason);
    };
    ws.onerror = () => {
      // A close event follows every error; it decides what to do.
    };
  }

  /** dropSocket closes the current socket without reacting to its close. */
  private dropSocket(code: number, reason: string): void {
    const ws = this.socket;
    this.socket = null;
    this.open = false;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      ws.close(code, reason);
    }
    for (const sub of this.subs.values()) {
      sub.cancelRetry?.();
      sub.pending = false;
    }
  }

  private closed(code: number, reason: string): void {
    for (const sub of this.subs.values()) {
      sub.cancelRetry?.();
      sub.pending = false;
    }
    if (this.stopped) return;
    if (code === Close.unauthorized) {
      this.on.state({ kind: "unauthorized", reason: reason || "the edge refused the credential" });
      return;
    }
    let delay: number;
    if (code === Close.restarting) {
      // A node going away tells everyone at once; a random delay spreads
      // the reconnects.
      this.opts.backoff.reset();
      delay = Math.round(this.opts.random() * RESTART_JITTER_MS);
    } else {
      delay = this.opts.backoff.next();
    }
    this.stats.reconnects++;
    this.on.state({
      kind: "reconnecting",
      inMs: delay,
      attempt: this.opts.backoff.attempts,
      reason: describeClose(code, reason),
    });
    this.cancelReconnect = this.opts.schedule(() => this.connect(), delay);
  }

  private send(msg: object): void {
    if (this.open && this.socket) this.socket.send(JSON.stringify(msg));
  }

  /**
   * subscribe sends a subscribe request under a fresh server id. With resume
   * set and events seen before, it asks for what was missed since the last
   * id of each shard; otherwise for the spec's snapshot.
   */
  private subscribe(key: string, sub: Sub, resume: boolean): void {
    sub.cancelRetry?.();
    sub.serverId = `${key}.${++this.generation}`;
    sub.error = undefined;
    if (!this.open) {
      sub.pending = false;
      return; // onopen subscribes everything
    }
    const from = this.lagResume ?? this.resume.list();
    const req: Record<string, unknown> = { op: "subscribe", id: sub.serverId, filter: sub.spec.filter };
    sub.resumed = resume && from.length > 0;
    if (sub.resumed) req.resume_from = from;
    else if (sub.spec.snapshot > 0) req.snapshot = sub.spec.snapshot;
    sub.pending = true;
    this.send(req);
  }

  private unsubscribe(sub: Sub): void {
    sub.cancelRetry?.();
    if (sub.serverId && this.open) this.send({ op: "unsubscribe", id: sub.serverId });
  }

  private byServerId(id: string | undefined): [string, Sub] | undefined {
    if (!id) return undefined;
    for (const entry of this.subs) if (entry[1].serverId === id) return entry;
    return undefined;
  }

  private handle(msg: ServerMessage): void {
    switch (msg.op) {
      case "events":
        this.accept(msg.events ?? [], "live");
        return;
      case "subscribed":
        this.subscribed(msg);
        return;
      case "error":
        this.refused(msg);
        return;
      case "lagged":
        this.lagged(msg);
        return;
      case "status":
        this.on.notice({ kind: "feed", ok: msg.feed !== "degraded", message: msg.message ?? "" });
        return;
    }
  }

  /**
   * accept drops events seen before and hands on the rest. A snapshot is
   * handed on whole: it fills a new view, which may well hold events the
   * connection delivered for the view before; the page drops its own repeats.
   */
  private accept(events: FlowEvent[], origin: Origin): void {
    const fresh: FlowEvent[] = [];
    for (const ev of events) {
      if (!this.seen.add(ev.id) && origin !== "snapshot") {
        this.stats.duplicates++;
        continue;
      }
      this.resume.advance(ev.id);
      fresh.push(ev);
    }
    this.stats.received += fresh.length;
    if (fresh.length > 0) this.on.events(fresh, origin);
  }

  private subscribed(msg: ServerMessage): void {
    const found = this.byServerId(msg.id);
    if (!found) return; // a subscription replaced meanwhile
    const [, sub] = found;
    sub.pending = false;
    this.opts.backoff.reset();
    if (![...this.subs.values()].some((s) => s.pending)) this.lagResume = undefined;
    this.on.state({ kind: "live", since: this.opts.now() });
    if (msg.resume === "gap") {
      this.on.notice({ kind: "gap", message: msg.message ?? "some events could not be recovered" });
    }
    if (msg.missed?.length) this.accept(msg.missed, "missed");
    if (msg.snapshot?.length) this.accept(msg.snapshot, "snapshot");
  }

  private refused(msg: ServerMessage): void {
    const found = this.byServerId(msg.id);
    const code = msg.code ?? "error";
    const message = msg.message ?? "";
    if (!found) {
      this.on.notice({ kind: "error", subscription: "", code, message });
      return;
    }
    const [key, sub] = found;
    sub.pending = false;
    if (code === "unavailable") {
      sub.cancelRetry = this.opts.schedule(() => this.subscribe(key, sub, true), UNAVAILABLE_RETRY_MS);
      this.on.notice({ kind: "feed", ok: false, message });
      return;
    }
    if (code === "bad_request" && sub.resumed) {
      // The ids are not this feed's (its streams were recreated): start
      // afresh with a snapshot, saying that continuity is lost.
      this.resume.clear();
      this.lagResume = undefined;
      this.on.notice({ kind: "gap", message: `could not resume: ${message}` });
      this.subscribe(key, sub, false);
      return;
    }
    sub.error = `${code}: ${message}`;
    this.on.notice({ kind: "error", subscription: key, code, message });
  }

  /**
   * lagged: the server dropped events this client was too slow for. Every
   * subscription is replaced by one resuming from the last ids held before
   * the drop; events arriving meanwhile are kept, and the replay's repeats
   * of them are dropped by id.
   */
  private lagged(msg: ServerMessage): void {
    this.stats.dropped += msg.dropped ?? 0;
    const now = this.opts.now();
    if (this.lagResume === undefined && now - this.lastLagReplay < LAG_REPLAY_COOLDOWN_MS) {
      this.on.notice({
        kind: "gap",
        message: `the page fell behind again and ${msg.dropped ?? 0} events were dropped; narrow the filter to keep up`,
      });
      return;
    }
    this.lastLagReplay = now;
    this.lagResume ??= this.resume.list();
    this.on.notice({
      kind: "lagged",
      dropped: msg.dropped ?? 0,
      message: msg.message ?? "the page fell behind; recovering the dropped events",
    });
    for (const [key, sub] of this.subs) {
      this.unsubscribe(sub);
      this.subscribe(key, sub, true);
    }
  }
}

/** describeClose says in words why a connection closed. */
export function describeClose(code: number, reason: string): string {
  const why: Record<number, string> = {
    [Close.normal]: "closed",
    [Close.abnormal]: "connection lost",
    [Close.restarting]: "the edge is restarting",
    1008: "missed the server's ping",
    1009: "a request was too large",
    [Close.slowConsumer]: "fell too far behind",
    4002: "sent a binary frame",
    [Close.unauthorized]: "credential refused",
    [Close.tooManyConnections]: "too many connections for this user",
    [Close.tooManySubscriptions]: "too many subscriptions",
    [Close.tooFast]: "too many requests",
  };
  const words = why[code] ?? `closed (${code})`;
  return reason ? `${words}: ${reason}` : words;
}

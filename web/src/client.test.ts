import { beforeEach, describe, expect, it } from "vitest";
import { Backoff } from "./backoff";
import { type ConnectionState, FeedClient, type Notice, type Origin, type SocketLike } from "./client";
import { validate } from "./filter";
import { event } from "./testdata";
import type { FlowEvent } from "./types";

/** FakeSocket records what the client sends; the test plays the server. */
class FakeSocket implements SocketLike {
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  sent: Record<string, unknown>[] = [];
  closedWith: number | undefined;
  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close(code?: number) {
    this.closedWith = code;
  }
  // Server side.
  open() {
    this.onopen?.({});
  }
  reply(msg: object) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  drop(code: number, reason = "") {
    this.onclose?.({ code, reason });
  }
  last(): Record<string, unknown> {
    return this.sent[this.sent.length - 1];
  }
}

/** Timers run when the test says so. */
class Clock {
  pending: { at: number; fn: () => void }[] = [];
  now = 0;
  schedule = (fn: () => void, ms: number) => {
    const t = { at: this.now + ms, fn };
    this.pending.push(t);
    return () => {
      this.pending = this.pending.filter((x) => x !== t);
    };
  };
  advance(ms: number) {
    this.now += ms;
    const due = this.pending.filter((t) => t.at <= this.now);
    this.pending = this.pending.filter((t) => t.at > this.now);
    for (const t of due) t.fn();
  }
}

let sockets: FakeSocket[];
let clock: Clock;
let got: { events: FlowEvent[]; origin: Origin }[];
let states: ConnectionState[];
let notices: Notice[];

function client(token?: string) {
  const c = new FeedClient(
    {
      url: "ws://edge/ws",
      token,
      socket: (u) => {
        const s = new FakeSocket(u);
        sockets.push(s);
        return s;
      },
      schedule: clock.schedule,
      random: () => 0.5,
      now: () => clock.now,
      backoff: new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.5 }),
    },
    {
      events: (events, origin) => got.push({ events, origin }),
      state: (s) => states.push(s),
      notice: (n) => notices.push(n),
    },
  );
  return c;
}

const view = { filter: validate({ symbols: ["SPY"] }), snapshot: 50 };
const ids = () => got.flatMap((g) => g.events.map((e) => e.id));

beforeEach(() => {
  sockets = [];
  clock = new Clock();
  got = [];
  states = [];
  notices = [];
});

/** live returns a client subscribed to the view on an open socket. */
function live() {
  const c = client();
  c.setSubscriptions(new Map([["view", view]]));
  c.start();
  const ws = sockets[0];
  ws.open();
  const sub = ws.last();
  ws.reply({ op: "subscribed", id: sub.id, symbols: ["SPY"], snapshot: [] });
  return { c, ws, sub };
}

describe("FeedClient", () => {
  it("subscribes on open with a snapshot and passes the snapshot on", () => {
    const c = client();
    c.setSubscriptions(new Map([["view", view]]));
    c.start();
    const ws = sockets[0];
    expect(ws.sent).toEqual([]); // nothing is sent before the socket opens
    ws.open();
    expect(ws.sent).toEqual([{ op: "subscribe", id: "view.2", filter: { symbols: ["SPY"] }, snapshot: 50 }]);
    const snap = [event(), event()];
    ws.reply({ op: "subscribed", id: "view.2", symbols: ["SPY"], snapshot: snap });
    expect(got).toEqual([{ events: snap, origin: "snapshot" }]);
    expect(states.at(-1)?.kind).toBe("live");
  });

  it("drops events it has seen, by id", () => {
    const { ws, c } = live();
    const a = event();
    const b = event();
    ws.reply({ op: "events", events: [a, b] });
    ws.reply({ op: "events", events: [b, a, event({ id: a.id })] });
    expect(ids()).toEqual([a.id, b.id]);
    expect(c.stats.duplicates).toBe(3);
  });

  it("reconnects after a lost connection and resumes from the last id of each shard", () => {
    const { ws } = live();
    const a = event({ id: "3-100-0" });
    const b = event({ id: "3-100-1" });
    const x = event({ id: "11-90-0" });
    ws.reply({ op: "events", events: [a, x, b] });
    ws.drop(1006);
    expect(states.at(-1)).toMatchObject({ kind: "reconnecting", inMs: 75, attempt: 1 });
    clock.advance(75);
    const ws2 = sockets[1];
    ws2.open();
    expect(ws2.last()).toEqual({
      op: "subscribe", id: "view.3", filter: { symbols: ["SPY"] }, resume_from: ["3-100-1", "11-90-0"],
    });
    // The resume may repeat the events of a millisecond; ids tell.
    const c = event({ id: "3-101-0" });
    ws2.reply({ op: "subscribed", id: "view.3", symbols: ["SPY"], resume: "complete", missed: [b, c] });
    ws2.reply({ op: "events", events: [c, event({ id: "3-102-0" })] });
    expect(ids()).toEqual(["3-100-0", "11-90-0", "3-100-1", "3-101-0", "3-102-0"]);
    expect(got.map((g) => g.origin)).toEqual(["live", "missed", "live"]);
  });

  it("backs off exponentially while the edge stays away, and resets once subscribed", () => {
    const c = client();
    c.setSubscriptions(new Map([["view", view]]));
    c.start();
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      sockets[i].drop(1006);
      const s = states.at(-1) as Extract<ConnectionState, { kind: "reconnecting" }>;
      delays.push(s.inMs);
      clock.advance(s.inMs);
    }
    expect(delays).toEqual([75, 150, 300, 600, 750, 750]);
    const ws = sockets[6];
    ws.open();
    ws.reply({ op: "subscribed", id: ws.last().id, symbols: ["SPY"] });
    ws.drop(1006);
    expect(states.at(-1)).toMatchObject({ kind: "reconnecting", inMs: 75 });
  });

  it("comes back soon after a restart close (1012), without growing the backoff", () => {
    const { ws } = live();
    ws.drop(1006);
    clock.advance(1000);
    sockets[1].drop(1012, "node restarting; reconnect and resume");
    expect(states.at(-1)).toMatchObject({
      kind: "reconnecting", inMs: 500, reason: "the edge is restarting: node restarting; reconnect and resume",
    });
  });

  it("stops at a refused credential with the reason, and tries again with a new token", () => {
    const c = client("bad.token.x");
    c.setSubscriptions(new Map([["view", view]]));
    c.start();
    expect(sockets[0].url).toBe("ws://edge/ws?access_token=bad.token.x");
    sockets[0].drop(4003, "token has invalid signature");
    expect(states.at(-1)).toEqual({ kind: "unauthorized", reason: "token has invalid signature" });
    clock.advance(60_000);
    expect(sockets).toHaveLength(1); // no retry with the same token
    c.setToken("good.token.y");
    expect(sockets).toHaveLength(2);
    expect(sockets[1].url).toBe("ws://edge/ws?access_token=good.token.y");
  });

  it("after a lagged notice resubscribes from the ids held before the drop", () => {
    const { ws } = live();
    ws.reply({ op: "events", events: [event({ id: "3-100-0" })] });
    ws.reply({ op: "lagged", dropped: 2, first: "3-101-0", last: "3-102-0", message: "you fell behind" });
    expect(notices.at(-1)).toMatchObject({ kind: "lagged", dropped: 2 });
    expect(ws.sent.slice(-2)).toEqual([
      { op: "unsubscribe", id: "view.2" },
      { op: "subscribe", id: "view.3", filter: { symbols: ["SPY"] }, resume_from: ["3-100-0"] },
    ]);
    // Newer events arrive before the replay; a reconnect meanwhile still
    // resumes from before the drop.
    ws.reply({ op: "events", events: [event({ id: "3-103-0" })] });
    ws.drop(1006);
    clock.advance(100);
    sockets[1].open();
    expect(sockets[1].last()).toMatchObject({ resume_from: ["3-100-0"] });
    sockets[1].reply({
      op: "subscribed", id: sockets[1].last().id, resume: "complete",
      missed: [event({ id: "3-101-0" }), event({ id: "3-102-0" }), event({ id: "3-103-0" })],
    });
    expect(ids()).toEqual(["3-100-0", "3-103-0", "3-101-0", "3-102-0"]);
    // Once every subscription resumed, the newest ids count again.
    sockets[1].drop(1006);
    clock.advance(100);
    sockets[2].open();
    expect(sockets[2].last()).toMatchObject({ resume_from: ["3-103-0"] });
  });

  it("does not replay a second drop soon after the first, and says so", () => {
    const { ws } = live();
    ws.reply({ op: "lagged", dropped: 5, first: "3-1-0", last: "3-2-0" });
    ws.reply({ op: "subscribed", id: ws.last().id, resume: "complete", missed: [] });
    const sent = ws.sent.length;
    clock.advance(10_000);
    ws.reply({ op: "lagged", dropped: 7, first: "3-5-0", last: "3-9-0" });
    expect(ws.sent.length).toBe(sent);
    expect(notices.at(-1)).toMatchObject({ kind: "gap" });
    clock.advance(30_000);
    ws.reply({ op: "lagged", dropped: 1, first: "3-10-0", last: "3-10-0" });
    expect(ws.sent.length).toBe(sent + 2);
  });

  it("reports a gap and takes the fresh snapshot", () => {
    const { ws } = live();
    ws.reply({ op: "events", events: [event({ id: "3-100-0" })] });
    ws.drop(1006);
    clock.advance(100);
    sockets[1].open();
    const snap = [event({ id: "3-500-0" })];
    sockets[1].reply({
      op: "subscribed", id: sockets[1].last().id, resume: "gap",
      message: "the feed no longer holds every event after resume_from; a fresh snapshot follows", snapshot: snap,
    });
    expect(notices.at(-1)).toMatchObject({ kind: "gap" });
    expect(got.at(-1)).toEqual({ events: snap, origin: "snapshot" });
  });

  it("starts afresh when the edge does not know the resume ids", () => {
    const { ws } = live();
    ws.reply({ op: "events", events: [event({ id: "3-100-0" })] });
    ws.drop(1006);
    clock.advance(100);
    const ws2 = sockets[1];
    ws2.open();
    ws2.reply({ op: "error", id: ws2.last().id, code: "bad_request", message: "resume_from: shard 40 of 16" });
    expect(ws2.last()).toEqual({ op: "subscribe", id: "view.4", filter: { symbols: ["SPY"] }, snapshot: 50 });
    expect(notices.at(-1)).toMatchObject({ kind: "gap" });
  });

  it("retries a subscription the edge could not start, and keeps a refused one's reason", () => {
    const c = client();
    c.setSubscriptions(new Map([["view", view], ["alert-1", { filter: validate({ symbols: ["*"] }), snapshot: 0 }]]));
    c.start();
    const ws = sockets[0];
    ws.open();
    const [v, a] = ws.sent;
    ws.reply({ op: "error", id: v.id, code: "unavailable", message: "could not start reading the event streams" });
    ws.reply({ op: "error", id: a.id, code: "forbidden", message: "the whole feed (*) needs a credential" });
    expect(c.subscriptionError("alert-1")).toBe("forbidden: the whole feed (*) needs a credential");
    clock.advance(2000);
    expect(ws.last()).toMatchObject({ op: "subscribe", filter: { symbols: ["SPY"] } });
  });

  it("replaces a subscription whose filter changed and leaves the others alone", () => {
    const { ws, c } = live();
    const alert = { filter: validate({ symbols: ["TSLA"], kinds: ["sweep"] }), snapshot: 0 };
    c.setSubscriptions(new Map([["view", view], ["alert-1", alert]]));
    expect(ws.last()).toEqual({ op: "subscribe", id: "alert-1.3", filter: alert.filter });
    const golden = { filter: validate({ symbols: ["SPY"], flags: ["golden"] }), snapshot: 50 };
    c.setSubscriptions(new Map([["view", golden], ["alert-1", alert]]));
    expect(ws.sent.slice(-2)).toEqual([
      { op: "unsubscribe", id: "view.2" },
      { op: "subscribe", id: "view.4", filter: golden.filter, snapshot: 50 },
    ]);
    c.setSubscriptions(new Map([["view", golden]]));
    expect(ws.last()).toEqual({ op: "unsubscribe", id: "alert-1.3" });
  });

  it("hands on a new view's snapshot whole, though the connection saw some of it", () => {
    const { ws, c } = live();
    const a = event({ flags: ["golden"] });
    ws.reply({ op: "events", events: [a, event()] });
    const golden = { filter: validate({ symbols: ["SPY"], flags: ["golden"] }), snapshot: 50 };
    c.setSubscriptions(new Map([["view", golden]]));
    ws.reply({ op: "subscribed", id: ws.last().id, snapshot: [a] });
    expect(got.at(-1)).toEqual({ events: [a], origin: "snapshot" });
  });

  it("passes on the feed's status", () => {
    const { ws } = live();
    ws.reply({ op: "status", feed: "degraded", message: "the event store is unreachable" });
    ws.reply({ op: "status", feed: "ok" });
    expect(notices).toEqual([
      { kind: "feed", ok: false, message: "the event store is unreachable" },
      { kind: "feed", ok: true, message: "" },
    ]);
  });

  it("stays closed after stop", () => {
    const { ws, c } = live();
    c.stop();
    expect(ws.closedWith).toBe(1000);
    clock.advance(60_000);
    expect(sockets).toHaveLength(1);
    expect(states.at(-1)).toEqual({ kind: "stopped" });
  });
});

// Connection state, rate and end-to-end latency of the latest events, and the
// pause control.

import type { ConnectionState } from "../client";
import type { FeedModel } from "../feed";
import { count, ms } from "./format";

function describeState(s: ConnectionState): { text: string; cls: string } {
  switch (s.kind) {
    case "live":
      return { text: "live", cls: "ok" };
    case "connecting":
      return { text: s.attempt > 0 ? `connecting (attempt ${s.attempt + 1})` : "connecting", cls: "warn" };
    case "reconnecting":
      return { text: `${s.reason}; reconnecting in ${(s.inMs / 1000).toFixed(1)} s`, cls: "warn" };
    case "unauthorized":
      return { text: `refused: ${s.reason}`, cls: "bad" };
    case "stopped":
      return { text: "stopped", cls: "bad" };
  }
}

export function StatusBar({ model }: { model: FeedModel }) {
  const st = describeState(model.connection);
  const lat = model.latencySummary();
  const paused = model.pause.paused;
  const notice = model.notices[0];
  const c = model.client?.stats;
  return (
    <div className="status">
      <span className={`conn ${st.cls}`} data-testid="connection" data-state={model.connection.kind}>{st.text}</span>
      {!model.feedOk && <span className="conn bad">feed degraded</span>}
      <span data-testid="rate">{lat ? `${count(Math.round(lat.rate))} ev/s` : "0 ev/s"}</span>
      <span data-testid="latency" title="from ingest reading the tick to this page, over the last 2 s">
        latency p50 {ms(lat?.p50)} · p99 {ms(lat?.p99)}
      </span>
      <span title="events waiting to be drawn">backlog {count(model.backlog)}</span>
      <span>tape {count(model.history.size)} / {count(model.history.capacity)}</span>
      {c && c.duplicates > 0 && <span title="repeats dropped by id">dups {count(c.duplicates)}</span>}
      <button
        className={`pause ${paused ? "on" : ""}`}
        data-testid="pause"
        onClick={() => model.setPaused(!paused)}
        title="hold the tape still; new events wait and are counted"
      >
        {paused ? `resume (${count(model.pause.arrived)} new)` : "pause"}
      </button>
      {paused && (
        <span data-testid="paused-count" data-count={model.pause.arrived}>
          paused: {count(model.pause.arrived)} arrived
          {model.pause.dropped > 0 && `, oldest ${count(model.pause.dropped)} beyond the tape's size`}
        </span>
      )}
      {notice && notice.kind !== "feed" && (
        <span className={`notice ${notice.kind}`} data-testid="notice">{noticeText(notice)}</span>
      )}
    </div>
  );
}

function noticeText(n: FeedModel["notices"][number]): string {
  switch (n.kind) {
    case "lagged":
      return `fell behind: ${count(n.dropped)} events dropped by the edge, recovering them`;
    case "gap":
      return `gap: ${n.message}`;
    case "error":
      return `${n.code}: ${n.message}`;
    case "feed":
      return n.message;
  }
}

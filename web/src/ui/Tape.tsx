// The live tape: a virtualised table, newest row on top. Only the rows in
// view exist in the DOM, so a history of thousands costs what forty rows
// cost. Rows have one fixed height, which keeps the virtualiser's work per
// frame to plain arithmetic; a clicked row opens its details (reasons, score
// parts, the fills behind a sweep) in a drawer under the tape. While the
// trader scrolls down to read, the view stays on the same rows as new ones
// arrive above.

import { useVirtualizer } from "@tanstack/react-virtual";
import { memo, useLayoutEffect, useRef, useState } from "react";
import type { History, Row } from "../history";
import type { FlowEvent } from "../types";
import { clock, count, money, volumeOI } from "./format";

export const ROW_HEIGHT = 24;

const COLUMNS = [
  "time", "ticker", "expiry", "strike", "C/P", "side", "size", "price", "premium",
  "spot", "OTM%", "DTE", "vol/OI", "kind", "score",
];
const NUMERIC = new Set(["strike", "size", "price", "premium", "spot", "OTM%", "DTE", "vol/OI", "score"]);

interface Props {
  history: History;
  version: number;
  onTicker(ticker: string): void;
}

const rowSize = () => ROW_HEIGHT;

export function Tape({ history, version, onTicker }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const [open, setOpen] = useState<Row>();
  const lastAdded = useRef(history.added);
  const [below, setBelow] = useState(false);

  const v = useVirtualizer({
    count: history.size,
    getScrollElement: () => scroller.current,
    estimateSize: rowSize,
    overscan: 8,
  });

  // Keep the rows being read in place when new ones arrive on top. Whether
  // the trader scrolled away from the top comes from scroll events: reading
  // scrollTop here would force a layout in every frame.
  useLayoutEffect(() => {
    const el = scroller.current;
    const added = history.added - lastAdded.current;
    lastAdded.current = history.added;
    if (el && added > 0 && below) el.scrollTop += added * ROW_HEIGHT;
  }, [version, history, below]);

  return (
    <div className="tape">
      <div className="tape-head row-grid" role="row">
        {COLUMNS.map((c) => (
          <div key={c} role="columnheader" className={NUMERIC.has(c) ? "num" : undefined}>{c}</div>
        ))}
      </div>
      <div
        className="tape-body"
        ref={scroller}
        data-testid="tape"
        onScroll={(e) => setBelow((e.target as HTMLDivElement).scrollTop > 0)}
      >
        <div style={{ height: v.getTotalSize(), position: "relative" }}>
          {v.getVirtualItems().map((item) => {
            const row = history.at(item.index);
            if (!row) return null;
            return (
              <div
                key={row.ev.key}
                className={`tape-row ${row.ev.sentiment}${row.cancelled ? " cancelled" : ""}${row.ev.kind === "cancel" ? " cancel" : ""}${open?.ev.key === row.ev.key ? " open" : ""}`}
                style={{ top: item.start }}
                data-key={row.ev.key}
                role="row"
                onClick={() => setOpen((o) => (o?.ev.key === row.ev.key ? undefined : row))}
              >
                <Cells ev={row.ev} onTicker={onTicker} />
              </div>
            );
          })}
        </div>
        {history.size === 0 && <div className="empty">waiting for events that match the filter…</div>}
      </div>
      {below && (
        <button className="to-top" onClick={() => scroller.current?.scrollTo({ top: 0 })}>
          ↑ back to live
        </button>
      )}
      {open && <Details row={open} onClose={() => setOpen(undefined)} />}
    </div>
  );
}

/**
 * Cells renders an event's columns. Rows move down a place with every new
 * event, so the cells are memoised on the event: moving costs a style change,
 * not a new rendering of fifteen formatted cells.
 */
const Cells = memo(function Cells({ ev, onTicker }: { ev: FlowEvent; onTicker(t: string): void }) {
  const scoreTip = [
    ...ev.reasons,
    Object.entries(ev.components ?? {}).map(([k, v]) => `${k} ${v}`).join(" · "),
  ].join("\n");
  return (
    <div className="row-grid">
      <div>{clock(ev.ts)}</div>
      <div>
        <button className="ticker" onClick={(e) => { e.stopPropagation(); onTicker(ev.underlying); }}>
          {ev.underlying}
        </button>
      </div>
      <div>{ev.expiry}</div>
      <div className="num">{ev.strike}</div>
      <div className={ev.right === "C" ? "call" : "put"}>{ev.right}</div>
      <div className={`side side-${ev.side || "none"}`}>{ev.side || "?"}</div>
      <div className="num">{count(ev.size)}</div>
      <div className="num">{ev.price.toFixed(2)}</div>
      <div className="num premium">{money(ev.premium)}</div>
      <div className="num">{ev.spot ? ev.spot.toFixed(2) : "–"}</div>
      <div className="num">{ev.otm_pct.toFixed(1)}</div>
      <div className="num">{ev.dte}</div>
      <div className="num">{volumeOI(ev.volume, ev.open_interest)}</div>
      <div className="badges">
        <span className={`badge kind-${ev.kind}`}>{ev.kind}</span>
        {ev.flags.map((f) => (
          <span key={f} className={`badge flag-${f}`}>{f}</span>
        ))}
      </div>
      <div className="num score" title={scoreTip}>{ev.score}</div>
    </div>
  );
});

function Details({ row, onClose }: { row: Row; onClose(): void }) {
  const ev = row.ev;
  return (
    <div className="details" data-testid="details">
      <button className="close" onClick={onClose} aria-label="close details">×</button>
      <div>
        <b>{ev.underlying} {ev.expiry} {ev.strike}{ev.right}</b> {ev.kind}
        {row.cancelled && <b className="put"> cancelled</b>} · {ev.symbol} · bid {ev.bid.toFixed(2)} ask{" "}
        {ev.ask.toFixed(2)} · {ev.exchange || `${ev.exchanges} exchanges`} · volume {count(ev.volume)} / OI{" "}
        {count(ev.open_interest)}
        {ev.conditions.length > 0 && ` · ${ev.conditions.join(" ")}`} · id {ev.id}
      </div>
      <div>
        score {ev.score}: {Object.entries(ev.components ?? {}).map(([k, v]) => `${k} ${v}`).join(" · ")}
      </div>
      {ev.reasons.map((r, i) => (
        <div key={i} className="reason">· {r}</div>
      ))}
      {ev.fills.length > 0 && (
        <>
          <div className="fills-head">{ev.fills.length} fills</div>
          {ev.fills.map((f) => (
            <div key={f.key} className="fill">
              {clock(f.ts)} {f.symbol} {f.exchange} {f.side || "?"} {count(f.size)} @ {f.price.toFixed(2)}
            </div>
          ))}
        </>
      )}
      {ev.cancels.length > 0 && <div>retracts {ev.cancels.join(", ")}</div>}
    </div>
  );
}

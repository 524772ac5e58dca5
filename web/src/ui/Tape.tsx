// The live tape: a virtualised table, newest row on top. Only the rows in
// view exist in the DOM, so a history of thousands costs what forty rows
// cost. While the trader scrolls down to read, the view stays on the same
// rows as new ones arrive above.

import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useLayoutEffect, useRef, useState } from "react";
import type { History, Row } from "../history";
import type { FlowEvent } from "../types";
import { clock, count, money, volumeOI } from "./format";

export const ROW_HEIGHT = 24;
const LINE = 18;

const COLUMNS = [
  "time", "ticker", "expiry", "strike", "C/P", "side", "size", "price", "premium",
  "spot", "OTM%", "DTE", "vol/OI", "kind", "score",
];

/** detailLines is how many lines an expanded row's details take. */
function detailLines(ev: FlowEvent): number {
  return 2 + ev.reasons.length + (ev.fills.length > 0 ? ev.fills.length + 1 : 0);
}

function rowHeight(row: Row | undefined, expanded: Set<string>): number {
  if (!row || !expanded.has(row.ev.key)) return ROW_HEIGHT;
  return ROW_HEIGHT + 8 + LINE * detailLines(row.ev);
}

interface Props {
  history: History;
  version: number;
  onTicker(ticker: string): void;
}

export function Tape({ history, version, onTicker }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const [expanded, setExpanded] = useState<Set<string>>(() => new Set());
  const lastAdded = useRef(history.added);
  const [below, setBelow] = useState(false);

  const v = useVirtualizer({
    count: history.size,
    getScrollElement: () => scroller.current,
    estimateSize: (i) => rowHeight(history.at(i), expanded),
    getItemKey: (i) => history.at(i)?.ev.key ?? i,
    overscan: 12,
  });

  // Keep the rows being read in place when new ones arrive on top.
  useLayoutEffect(() => {
    const el = scroller.current;
    const added = history.added - lastAdded.current;
    lastAdded.current = history.added;
    if (el && added > 0 && el.scrollTop > 0) el.scrollTop += added * ROW_HEIGHT;
  }, [version, history]);

  const toggle = (key: string) => {
    setExpanded((prev) => {
      const next = new Set(prev);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });
  };
  useEffect(() => v.measure(), [expanded, v]);

  return (
    <div className="tape">
      <div className="tape-head row-grid" role="row">
        {COLUMNS.map((c) => (
          <div key={c} role="columnheader">{c}</div>
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
              <TapeRow
                key={item.key}
                row={row}
                top={item.start}
                height={item.size}
                open={expanded.has(row.ev.key)}
                onToggle={toggle}
                onTicker={onTicker}
              />
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
    </div>
  );
}

interface RowProps {
  row: Row;
  top: number;
  height: number;
  open: boolean;
  onToggle(key: string): void;
  onTicker(t: string): void;
}

function TapeRow({ row, top, height, open, onToggle, onTicker }: RowProps) {
  const ev = row.ev;
  const cls = `tape-row ${ev.sentiment}${row.cancelled ? " cancelled" : ""}${ev.kind === "cancel" ? " cancel" : ""}`;
  const scoreTip = [
    ...ev.reasons,
    Object.entries(ev.components ?? {})
      .map(([k, v]) => `${k} ${v}`)
      .join(" · "),
  ].join("\n");
  return (
    <div
      className={cls}
      style={{ transform: `translateY(${top}px)`, height }}
      data-id={ev.id}
      data-key={ev.key}
      role="row"
    >
      <div className="row-grid" onClick={() => onToggle(ev.key)}>
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
      {open && <Details ev={ev} />}
    </div>
  );
}

function Details({ ev }: { ev: FlowEvent }) {
  return (
    <div className="details" style={{ height: LINE * detailLines(ev) }}>
      <div>
        {ev.symbol} · bid {ev.bid.toFixed(2)} ask {ev.ask.toFixed(2)} · {ev.exchange || `${ev.exchanges} exchanges`} ·
        volume {count(ev.volume)} / OI {count(ev.open_interest)}
        {ev.conditions.length > 0 && ` · ${ev.conditions.join(" ")}`} · id {ev.id}
      </div>
      <div>
        score {ev.score}:{" "}
        {Object.entries(ev.components ?? {}).map(([k, v]) => `${k} ${v}`).join(" · ")}
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
    </div>
  );
}

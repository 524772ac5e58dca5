// One ticker at a glance: its calls against puts, bullish against bearish,
// its busiest contracts and latest prints, from the tape's history.

import { useEffect, useState } from "react";
import { type Drilldown as D, drilldown } from "../aggregate";
import type { History } from "../history";
import { clock, money } from "./format";

interface Props {
  ticker: string;
  history: History;
  onClose(): void;
}

export function Drilldown({ ticker, history, onClose }: Props) {
  const [d, setD] = useState<D>(() => drilldown(ticker, history.rows()));
  useEffect(() => {
    setD(drilldown(ticker, history.rows()));
    const t = setInterval(() => setD(drilldown(ticker, history.rows())), 1000);
    return () => clearInterval(t);
  }, [ticker, history]);
  const bullPct = d.bullish + d.bearish > 0 ? (100 * d.bullish) / (d.bullish + d.bearish) : 50;
  return (
    <section className="drilldown" data-testid="drilldown">
      <h2>
        {ticker} <small>{d.count} prints on the tape</small>
        <button className="close" onClick={onClose} aria-label="close drill-down">×</button>
      </h2>
      <div className="totals">
        <span className="call">calls {money(d.calls)}</span>
        <span className="put">puts {money(d.puts)}</span>
        <span className="bullish">bullish {money(d.bullish)}</span>
        <span className="bearish">bearish {money(d.bearish)}</span>
      </div>
      <div className="meter" title={`${bullPct.toFixed(0)}% of directional premium is bullish`}>
        <div className="meter-bull" style={{ width: `${bullPct}%` }} />
      </div>
      <table className="contracts">
        <thead><tr><th>contract</th><th>prints</th><th>premium</th></tr></thead>
        <tbody>
          {d.contracts.map((c) => (
            <tr key={c.symbol}>
              <td>{c.expiry} {c.strike}{c.right}</td>
              <td className="num">{c.count}</td>
              <td className="num">{money(c.premium)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <ul className="recent">
        {d.recent.map((r) => (
          <li key={r.ev.key} className={`${r.ev.sentiment}${r.cancelled ? " cancelled" : ""}`}>
            {clock(r.ev.ts)} {r.ev.strike}{r.ev.right} {r.ev.kind} {r.ev.side || "?"} {money(r.ev.premium)}
          </li>
        ))}
      </ul>
    </section>
  );
}

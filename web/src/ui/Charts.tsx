// At-a-glance charts (Chart.js on canvas): premium by ticker, bullish against
// bearish, and call against put premium over time. They redraw at most once a
// second and without animation, so they cost little while the tape is busy.

import {
  BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement,
  PointElement, Tooltip, Filler,
} from "chart.js";
import { memo, useEffect, useRef } from "react";
import type { Aggregates } from "../aggregate";
import { money } from "./format";

Chart.register(
  BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement,
  Tooltip, Legend, Filler,
);
Chart.defaults.color = "#9aa4b2";
Chart.defaults.borderColor = "#273040";
Chart.defaults.animation = false;

const GREEN = "#26a269";
const RED = "#e5484d";
const GREY = "#6b7280";
const REDRAW_MS = 1000;

/** useRedraw calls draw every second while the aggregates changed. */
function useRedraw(agg: Aggregates, draw: () => void) {
  const seen = useRef(-1);
  const drawRef = useRef(draw);
  drawRef.current = draw;
  useEffect(() => {
    const tick = () => {
      if (agg.version === seen.current) return;
      seen.current = agg.version;
      drawRef.current();
    };
    tick();
    const t = setInterval(tick, REDRAW_MS);
    return () => clearInterval(t);
  }, [agg]);
}

const moneyTicks = { callback: (v: string | number) => money(Number(v)) };

export const PremiumByTicker = memo(function PremiumByTicker({ agg, onTicker }: { agg: Aggregates; onTicker(t: string): void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<"bar">>(null);
  useEffect(() => {
    const c = new Chart(canvas.current!, {
      type: "bar",
      data: { labels: [], datasets: [
        { label: "bullish", data: [], backgroundColor: GREEN, stack: "s" },
        { label: "bearish", data: [], backgroundColor: RED, stack: "s" },
        { label: "neutral", data: [], backgroundColor: GREY, stack: "s" },
      ] },
      options: {
        indexAxis: "y",
        maintainAspectRatio: false,
        scales: { x: { stacked: true, ticks: moneyTicks }, y: { stacked: true, ticks: { autoSkip: false } } },
        plugins: { tooltip: { callbacks: { label: (i) => `${i.dataset.label} ${money(Number(i.raw))}` } } },
        onClick: (_e, elements) => {
          const el = elements[0];
          if (el) onTicker(String(c.data.labels?.[el.index]));
        },
      },
    });
    chart.current = c;
    return () => c.destroy();
  }, [onTicker]);
  useRedraw(agg, () => {
    const c = chart.current;
    if (!c) return;
    const top = agg.top(10);
    c.data.labels = top.map((t) => t.ticker);
    c.data.datasets[0].data = top.map((t) => t.bullish);
    c.data.datasets[1].data = top.map((t) => t.bearish);
    c.data.datasets[2].data = top.map((t) => t.neutral);
    c.update("none");
  });
  return (
    <section className="chart">
      <h2>premium by ticker</h2>
      <div className="canvas-box"><canvas ref={canvas} data-testid="chart-tickers" /></div>
    </section>
  );
});

const clockFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });

export const CallPutOverTime = memo(function CallPutOverTime({ agg }: { agg: Aggregates }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<"line">>(null);
  useEffect(() => {
    const c = new Chart(canvas.current!, {
      type: "line",
      data: { labels: [], datasets: [
        { label: "calls", data: [], borderColor: GREEN, backgroundColor: "rgba(38,162,105,0.2)", fill: true, pointRadius: 0 },
        { label: "puts", data: [], borderColor: RED, backgroundColor: "rgba(229,72,77,0.2)", fill: true, pointRadius: 0 },
      ] },
      options: {
        maintainAspectRatio: false,
        scales: { y: { ticks: moneyTicks }, x: { ticks: { maxTicksLimit: 6 } } },
        plugins: { tooltip: { callbacks: { label: (i) => `${i.dataset.label} ${money(Number(i.raw))}` } } },
      },
    });
    chart.current = c;
    return () => c.destroy();
  }, []);
  useRedraw(agg, () => {
    const c = chart.current;
    if (!c) return;
    const s = agg.series();
    c.data.labels = s.times.map((t) => clockFmt.format(t));
    c.data.datasets[0].data = s.calls;
    c.data.datasets[1].data = s.puts;
    c.update("none");
  });
  return (
    <section className="chart">
      <h2>call / put premium per 10 s</h2>
      <div className="canvas-box"><canvas ref={canvas} data-testid="chart-callput" /></div>
    </section>
  );
});

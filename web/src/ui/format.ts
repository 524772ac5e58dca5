// Number and time formats of the screen.

export function money(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `$${(v / 1e9).toFixed(2)}B`;
  if (a >= 1e6) return `$${(v / 1e6).toFixed(2)}M`;
  if (a >= 1e3) return `$${(v / 1e3).toFixed(0)}K`;
  return `$${v.toFixed(0)}`;
}

const timeFmt = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hour12: false,
});

/** clock formats Unix nanoseconds as local hh:mm:ss.mmm. */
export function clock(ns: number): string {
  const ms = ns / 1e6;
  return `${timeFmt.format(ms)}.${String(Math.floor(ms % 1000)).padStart(3, "0")}`;
}

export function count(n: number): string {
  return n.toLocaleString("en-US");
}

export function ms(v: number | undefined): string {
  if (v === undefined) return "–";
  return v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${Math.max(0, v).toFixed(0)} ms`;
}

export function volumeOI(volume: number, oi: number): string {
  return oi > 0 ? (volume / oi).toFixed(2) : "new";
}

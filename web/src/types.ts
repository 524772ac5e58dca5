// The shapes of the edge's WebSocket protocol (docs/protocol.md): scored
// flow events and the frames the server sends.

/** One print behind an aggregate (a sweep's fills, a spread's legs). */
export interface Fill {
  key: string;
  ts: number;
  symbol: string;
  exchange: string;
  price: number;
  size: number;
  side: string;
}

/** The points each part of the score gave. */
export interface Components {
  premium: number;
  aggression: number;
  volume_oi: number;
  dte: number;
  moneyness: number;
  kind: number;
  unusual: number;
}

/** A scored flow event as the edge delivers it. Times are Unix nanoseconds. */
export interface FlowEvent {
  id: string;
  key: string;
  kind: string;
  ts: number;
  ingest_ts: number;
  scored_ts: number;
  underlying: string;
  symbol: string;
  expiry: string;
  dte: number;
  strike: number;
  right: string;
  side: string;
  sentiment: string;
  price: number;
  size: number;
  premium: number;
  bid: number;
  ask: number;
  spot: number;
  otm_pct: number;
  volume: number;
  open_interest: number;
  exchange: string;
  exchanges: number;
  conditions: string[];
  flags: string[];
  fills: Fill[];
  cancels: string[];
  score: number;
  components: Components;
  reasons: string[];
}

/** Any frame the server sends; op tells which fields are set. */
export interface ServerMessage {
  op: string;
  id?: string;
  code?: string;
  message?: string;
  symbols?: string[];
  events?: FlowEvent[];
  snapshot?: FlowEvent[];
  resume?: "complete" | "gap";
  missed?: FlowEvent[];
  dropped?: number;
  first?: string;
  last?: string;
  feed?: "ok" | "degraded";
}

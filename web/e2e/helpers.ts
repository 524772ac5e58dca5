// Helpers of the browser tests: the stack's control API, Chromium, and reads
// of the page's state.

import { chromium, type Browser, type Page } from "playwright-core";

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the browser tests through tools/webe2e (go test)`);
  return v;
}

export const edge = () => env("LIVEFLOW_E2E_EDGE");
export const authEdge = () => env("LIVEFLOW_E2E_AUTH_EDGE");
export const artifacts = () => env("LIVEFLOW_E2E_ARTIFACTS");

/** control calls the Go harness. */
export async function control<T>(path: string, body: object): Promise<T> {
  const resp = await fetch(env("LIVEFLOW_E2E_CONTROL") + path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!resp.ok) throw new Error(`control ${path}: ${resp.status} ${await resp.text()}`);
  return (await resp.json()) as T;
}

export type Spec = Record<string, unknown>;

/** write has the harness append events to the shard streams; it returns their keys. */
export async function write(events: Spec[]): Promise<string[]> {
  return (await control<{ keys: string[] }>("/write", { events })).keys;
}

/** launch starts Debian's Chromium; playwright never downloads a browser here. */
export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: env("LIVEFLOW_E2E_CHROMIUM"),
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

/** tapeKeys returns the keys of every row of the tape, newest first. */
export function tapeKeys(page: Page): Promise<string[]> {
  return page.evaluate(() => [...window.__liveflow.model.history.rows()].map((r) => r.ev.key));
}

/** waitFor polls cond in the page's terms until it holds or the time is up. */
export async function until(what: string, cond: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** connection returns the page's connection state. */
export function connection(page: Page): Promise<string> {
  return page.evaluate(() => window.__liveflow.model.connection.kind);
}

/** hasAll reports whether the tape holds every one of keys. */
export async function hasAll(page: Page, keys: string[]): Promise<boolean> {
  const held = new Set(await tapeKeys(page));
  return keys.every((k) => held.has(k));
}

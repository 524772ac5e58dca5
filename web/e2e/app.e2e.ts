// The trader's screen in Debian's Chromium against a running edge and
// redis-server (see tools/webe2e): events written as the scorer writes them
// must show, filter, pause, survive an edge restart without gap or repeat,
// refuse a bad token clearly, and stay smooth at 2,000 events a second.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  artifacts, authEdge, connection, control, edge, hasAll, launch, tapeKeys, until, write, type Spec,
} from "./helpers";

let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
});

async function open(url: string): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1600, height: 900 } });
  const page = await ctx.newPage();
  page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
  await page.goto(url);
  return page;
}

async function live(page: Page): Promise<void> {
  await until("the page to subscribe", () =>
    page.evaluate(() => window.__liveflow.model.connection.kind === "live" && window.__liveflow.client.settled),
  );
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(artifacts(), name) });
const times = (n: number, f: (i: number) => Spec) => Array.from({ length: n }, (_, i) => f(i));

describe("the flow screen", () => {
  it("shows events as rows, newest on top, with cancels struck out, fills and a drill-down", async () => {
    const page = await open(`${edge()}/?symbols=ROWA,ROWB`);
    await live(page);
    const keys = await write(times(20, (i) => ({ underlying: i % 2 ? "ROWA" : "ROWB", kind: ["trade", "sweep", "block"][i % 3] })));
    await until("all 20 rows", () => hasAll(page, keys));
    const tape = await tapeKeys(page);
    expect([...tape].sort()).toEqual([...keys].sort());
    // Newest on top within each underlying (two shards may interleave).
    expect(tape.filter((k) => keys.indexOf(k) % 2 === 1)).toEqual(keys.filter((_, i) => i % 2 === 1).reverse());
    expect(tape.filter((k) => keys.indexOf(k) % 2 === 0)).toEqual(keys.filter((_, i) => i % 2 === 0).reverse());
    expect(await page.locator(".tape-row").first().getAttribute("data-key")).toBe(tape[0]);

    await write([{ underlying: "ROWA", kind: "cancel", cancels: [keys[1]] }]);
    const cancelled = page.locator(`.tape-row[data-key="${keys[1]}"]`);
    await until("the cancelled row struck out", async () => (await cancelled.getAttribute("class"))!.includes("cancelled"));

    await cancelled.locator(".badges").click();
    const details = page.getByTestId("details");
    await until("the fills to show", async () => (await details.textContent())?.includes("3 fills") ?? false);
    expect(await details.textContent()).toContain("cancelled");
    await page.locator(`.tape-row[data-key="${keys[0]}"] .ticker`).click();
    await until("the drill-down", async () => (await page.getByTestId("drilldown").textContent())?.startsWith("ROWB") ?? false);
    expect(await page.getByTestId("drilldown").textContent()).toContain("10 prints on the tape");
    await shot(page, "tape.png");
    await page.context().close();
  });

  it("filters as the edge does, with presets, and keeps the filter across a reload", async () => {
    const page = await open(`${edge()}/?symbols=FILT`);
    await live(page);
    await page.selectOption("select[name=preset]", "golden sweeps");
    await live(page);
    expect(page.url()).toContain("kinds=sweep&flags=golden");
    const golden = await write(times(3, () => ({ underlying: "FILT", kind: "sweep", flags: ["golden", "iso"] })));
    await write([...times(5, () => ({ underlying: "FILT", kind: "trade" })), { underlying: "FILT", kind: "sweep", flags: ["iso"] }]);
    const marker = await write([{ underlying: "FILT", kind: "sweep", flags: ["golden"] }]);
    await until("the golden sweeps", () => hasAll(page, marker));
    expect(await tapeKeys(page)).toEqual([...golden, ...marker].reverse());

    await page.selectOption("select[name=preset]", "big bearish puts");
    await live(page);
    const put = (premium: number, right = "P", sentiment = "bearish") => ({ underlying: "FILT", kind: "block", premium, right, sentiment });
    const [match] = await write([put(600_000)]);
    await write([put(100_000), put(600_000, "P", "bullish"), put(600_000, "C")]);
    const [last] = await write([put(700_000)]);
    await until("the bearish puts", () => hasAll(page, [last]));
    expect(await tapeKeys(page)).toEqual([last, match]);

    await page.reload();
    await live(page);
    expect(await page.locator("select[name=preset]").inputValue()).toBe("big bearish puts");
    expect(page.url()).toContain("sentiments=bearish&rights=P&min_premium=500000");
    await until("the snapshot after the reload", () => hasAll(page, [last, match]));
    expect(await tapeKeys(page)).toEqual([last, match]);
    expect(await page.evaluate(() => localStorage.getItem("liveflow.filter.v1"))).toBe(
      JSON.stringify({ symbols: ["FILT"], sentiments: ["bearish"], rights: ["P"], min_premium: 500000 }),
    );

    // One condition by hand: the minimum premium.
    await page.fill("input[name=min_premium]", "650000");
    await page.press("input[name=min_premium]", "Enter");
    await live(page);
    expect(page.url()).toContain("min_premium=650000");
    await until("the view to narrow", async () => (await tapeKeys(page)).join() === last);
    await page.context().close();
  });

  it("holds the tape still while paused, counts what arrives, and adds it on resume", async () => {
    const page = await open(`${edge()}/?symbols=PAUS`);
    await live(page);
    const first = await write(times(5, () => ({ underlying: "PAUS" })));
    await until("the first rows", () => hasAll(page, first));
    await page.getByTestId("pause").click();
    const held = await write(times(30, () => ({ underlying: "PAUS" })));
    await until("30 events counted while paused", async () => (await page.getByTestId("paused-count").getAttribute("data-count")) === "30");
    expect(await page.getByTestId("pause").textContent()).toBe("resume (30 new)");
    expect(await tapeKeys(page)).toEqual([...first].reverse());
    await shot(page, "paused.png");
    await page.getByTestId("pause").click();
    expect(await tapeKeys(page)).toEqual([...first, ...held].reverse());
    await page.context().close();
  });

  it("resumes after the edge restarts, without a gap and without a repeat", async () => {
    const page = await open(`${edge()}/?symbols=RECA,RECB`);
    await live(page);
    await page.evaluate(() => {
      const seen: string[] = [];
      window.__liveflow.model.subscribe(() => {
        const c = window.__liveflow.model.connection;
        const s = c.kind === "reconnecting" ? `reconnecting: ${c.reason}` : c.kind;
        if (seen[seen.length - 1] !== s) seen.push(s);
      });
      (window as unknown as { states: string[] }).states = seen;
    });
    // Keys alternate between the underlyings in every batch (batches are even).
    const spec = (i: number) => ({ underlying: i % 2 ? "RECA" : "RECB" });
    const before = await write(times(10, spec));
    await until("the rows before the restart", () => hasAll(page, before));

    const { keys: down } = await control<{ keys: string[] }>("/restart", { whileDown: times(26, spec) });
    await live(page);
    const after = await write(times(10, spec));
    await until("every row", () => hasAll(page, [...before, ...down, ...after]));

    // Every event once: nothing lost while the edge was down, nothing twice.
    const all = [...before, ...down, ...after];
    const tape = await tapeKeys(page);
    expect(tape.length).toBe(all.length);
    expect([...tape].sort()).toEqual([...all].sort());
    for (const parity of [0, 1]) {
      const mine = all.filter((_, i) => i % 2 === parity);
      expect(tape.filter((k) => mine.includes(k))).toEqual([...mine].reverse());
    }
    const states = await page.evaluate(() => (window as unknown as { states: string[] }).states);
    expect(states).toContain("reconnecting: the edge is restarting: node restarting; reconnect and resume");
    expect(states[states.length - 1]).toBe("live");
    const notices = await page.evaluate(() => window.__liveflow.model.notices.map((n) => n.kind));
    expect(notices).not.toContain("gap");
    await page.context().close();
  });

  it("raises an alert for a rule made from a preset", async () => {
    const page = await open(`${edge()}/?symbols=ALRT`);
    await page.context().grantPermissions(["notifications"]);
    await live(page);
    await page.getByTestId("alerts").locator("select").selectOption("golden sweeps");
    await live(page);
    await write([{ underlying: "ALRT", kind: "trade" }, { underlying: "ALRT", kind: "sweep", flags: ["golden"], premium: 1_500_000 }]);
    await until("the alert", async () => (await page.locator(".alert-log li").count()) === 1);
    expect(await page.locator(".alert-log li").textContent()).toContain("golden sweeps");
    expect(await page.locator(".alert-log li").textContent()).toContain("$1.50M");
    await page.context().close();
  });

  it("says clearly why the edge refused a token, and connects with a good one", async () => {
    const page = await open(`${authEdge()}/?symbols=AUTH`);
    await until("the refusal", async () => (await connection(page)) === "unauthorized");
    const refusal = page.locator(".refused");
    expect(await refusal.textContent()).toMatch(/^The edge refused the connection: .+\. Sign in with a valid token\.$/);

    const { token: forged } = await control<{ token: string }>("/token", { user: "trader", forged: true });
    await page.fill("input[name=token]", forged);
    await page.click("form.signin button[type=submit]");
    await until("the second refusal", async () => (await refusal.textContent())?.includes("signature") ?? false);
    await shot(page, "refused.png");

    const { token } = await control<{ token: string }>("/token", { user: "trader", forged: false });
    await page.fill("input[name=token]", token);
    await page.click("form.signin button[type=submit]");
    await live(page);
    const keys = await write(times(3, () => ({ underlying: "AUTH" })));
    await until("rows for the signed-in trader", () => hasAll(page, keys));
    expect(await page.locator(".refused").count()).toBe(0);
    await page.context().close();
  });

  it("keeps up with 2,000 events a second and stays smooth", async () => {
    const symbols = times(20, (i) => ({ s: `BRST${i}` })).map((x) => x.s);
    const page = await open(`${edge()}/?symbols=${symbols.join(",")}`);
    await live(page);
    const start = await page.evaluate(() => {
      type Probe = { frames: number[]; tasks: number[]; backlog: number; stop: boolean };
      const p: Probe = { frames: [], tasks: [], backlog: 0, stop: false };
      let last = performance.now();
      const loop = (t: number) => {
        p.frames.push(t - last);
        last = t;
        p.backlog = Math.max(p.backlog, window.__liveflow.model.backlog);
        if (!p.stop) requestAnimationFrame(loop);
      };
      requestAnimationFrame(loop);
      new PerformanceObserver((l) => l.getEntries().forEach((e) => p.tasks.push(e.duration))).observe({ type: "longtask" });
      (window as unknown as { probe: Probe }).probe = p;
      return window.__liveflow.client.stats.received;
    });
    const rate = 2000;
    const seconds = 10;
    const { written } = await control<{ written: number }>("/burst", { rate, seconds, symbols });
    const ended = Date.now();
    // Wait for the page to catch up, but measure either way: a failure then
    // says how far behind it was.
    await until("every event of the burst", () =>
      page.evaluate((n) => window.__liveflow.client.stats.received >= n && window.__liveflow.model.backlog === 0, start + written),
      40_000,
    ).catch(() => {});
    const caughtUpMs = Date.now() - ended;
    const r = await page.evaluate(() => {
      const p = (window as unknown as { probe: { frames: number[]; tasks: number[]; backlog: number; stop: boolean } }).probe;
      p.stop = true;
      const m = window.__liveflow.model;
      return { frames: p.frames.slice(1), tasks: p.tasks, maxBacklog: p.backlog, dropped: window.__liveflow.client.stats.dropped,
        received: window.__liveflow.client.stats.received, latency: m.latencySummary(), tape: m.history.size };
    });
    const sorted = [...r.frames].sort((a, b) => a - b);
    const q = (x: number) => sorted[Math.min(sorted.length - 1, Math.floor(x * sorted.length))];
    const frameMs = 1000 / 60;
    const result = {
      rate, seconds, written, received: r.received - start, lagDropped: r.dropped,
      frames: r.frames.length,
      fps: (1000 * r.frames.length) / r.frames.reduce((a, b) => a + b, 0),
      frameMs: { p50: q(0.5), p95: q(0.95), p99: q(0.99), max: sorted[sorted.length - 1] },
      longFrames: r.frames.filter((f) => f > 50).length,
      droppedFrames: r.frames.reduce((n, f) => n + Math.max(0, Math.round(f / frameMs) - 1), 0),
      longTasks: { count: r.tasks.length, totalMs: r.tasks.reduce((a, b) => a + b, 0), maxMs: Math.max(0, ...r.tasks) },
      maxBacklog: r.maxBacklog, caughtUpMs, tape: r.tape,
    };
    console.log(`burst: ${JSON.stringify(result)}`);
    writeFileSync(join(artifacts(), "burst.json"), JSON.stringify(result, null, 2));
    await shot(page, "burst.png");

    // Nothing is lost to the trader: every event arrived, and no gap was
    // reported (on a starved machine the edge may drop events for the page,
    // which then recovers them by resuming; lagDropped counts them).
    expect(result.received).toBe(written);
    const gaps = await page.evaluate(() => window.__liveflow.model.notices.filter((n) => n.kind === "gap").length);
    expect(gaps).toBe(0);
    // The main thread stays responsive: the median frame comes within
    // 200 ms and the page has caught up within 30 s. These bounds hold on a
    // 2-core machine shared with the stack and busy builds; an idle one does
    // far better. The figures of each run are in docs/benchmarks.md.
    expect(result.frameMs.p50).toBeLessThan(200);
    expect(result.caughtUpMs).toBeLessThan(30_000);
    await page.context().close();
  }, 120_000);
});

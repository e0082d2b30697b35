/**
 * The status page at `/` in a real browser (Debian's Chromium through playwright-core), against the
 * service running on the simulator: it loads offline under its CSP, lists the series the API reports,
 * charts the saved candles, offers them for download, works from the keyboard and updates in place.
 * A screenshot is kept at .tmp/artifacts/status-page.png.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import type { Browser, Page } from "playwright-core";
import { chromiumAvailable, launchChromium } from "./chromium.ts";
import { COINS, type PageService, startPageService } from "./service.ts";
import { NATIVE_EXCHANGE_IDS } from "../../src/exchanges/index.ts";

const ARTIFACTS = join(import.meta.dir, "..", "..", ".tmp", "artifacts");

interface ApiSeries {
  exchange: string;
  exchangeName: string;
  coin: string;
  quote: string;
  intervalMinutes: number;
  last: string | null;
  rows: number;
  missingBuckets: number;
}
interface ApiCandles {
  columns: string[];
  rows: (string | number)[][];
  next: string | null;
}
/** What the page exposes as `window.__ci.chart`. */
interface ChartHook {
  series: { exchange: string; coin: string; intervalMinutes: number };
  query: { exchange: string; coin: string; intervalMinutes: number; fromMs?: number; toMs?: number };
  columns: string[];
  rows: (string | number)[][];
  drawn: { candles: { time: number; open: number; high: number; low: number; close: number }[]; volumes: { time: number; value: number }[] };
}

interface Opened {
  page: Page;
  /** Every URL the page requested. */
  requests: string[];
  /** Console errors and warnings, uncaught exceptions, failed requests and CSP violations. */
  problems: string[];
  response: Awaited<ReturnType<Page["goto"]>>;
}

const keyOf = (s: { exchange: string; coin: string; intervalMinutes: number }) => `${s.exchange}|${s.coin}|${s.intervalMinutes}`;
const row = (key: string) => `tr[data-key="${key}"]`;
// Code run in the page is written as strings: this program is type-checked without the DOM's types.
/** `window.__ci.<path>` in the page. */
const ci = <T>(page: Page, path: string): Promise<T> => page.evaluate<T>(`window.__ci.${path}`);
/** The page's globals, as seen from functions run in it (waitForFunction: a string would need eval, which the CSP refuses). */
type InPage = { __ci: { chart: ChartHook; refreshes: number } };
/** The series key of the focused element's row, else its id. */
const FOCUSED_KEY = `document.activeElement?.closest("tr")?.dataset.key ?? document.activeElement?.id ?? ""`;

/** A Parquet file's rows, read by DuckDB, in the API's JSON form (TimeStamp as ISO text). */
async function readParquet(bytes: Uint8Array): Promise<unknown[][]> {
  const dir = mkdtempSync(join(tmpdir(), "ci-page-parquet-"));
  const db = await DuckDBInstance.create(":memory:");
  const connection = await db.connect();
  try {
    const file = join(dir, "range.parquet");
    writeFileSync(file, bytes);
    const read = await connection.runAndReadAll(
      `SELECT epoch_ms("TimeStamp") AS t, "Exchange", "Coin", "OpenPrice", "HighPrice", "LowPrice", "ClosePrice", "Volume", "Bucket_Interval" FROM read_parquet('${file}')`,
    );
    return read.getRowsJS().map(([t, ...rest]) => [new Date(Number(t)).toISOString().replace(".000Z", "Z"), ...rest.map((v) => (typeof v === "bigint" ? Number(v) : v))]);
  } finally {
    connection.closeSync();
    db.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
}

const run = chromiumAvailable();

describe.skipIf(!run)("status page in Chromium", () => {
  let svc: PageService;
  let browser: Browser;

  beforeAll(async () => {
    [svc, browser] = await Promise.all([startPageService(), launchChromium()]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await svc?.close();
  });

  async function open(viewport = { width: 1440, height: 900 }): Promise<Opened> {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    const requests: string[] = [];
    const problems: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ""}`));
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`uncaught: ${e.message}`));
    // Reported by the browser itself, before any of the page's code runs (init scripts are exempt from the CSP).
    await page.addInitScript({ content: 'document.addEventListener("securitypolicyviolation", (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));' });
    const response = await page.goto(`${svc.base}/`);
    await page.waitForSelector("body[data-loaded]");
    return { page, requests, problems, response };
  }

  async function allCandles(query: string): Promise<ApiCandles> {
    const first = await svc.getJson<ApiCandles>(`/api/candles?${query}`);
    const rows = [...first.rows];
    for (let next = first.next; next; ) {
      const page = await svc.getJson<ApiCandles>(`/api/candles?${query}&cursor=${encodeURIComponent(next)}`);
      rows.push(...page.rows);
      next = page.next;
    }
    return { columns: first.columns, rows, next: null };
  }

  /** The chart's query as /api/candles parameters (what the page asked for). */
  function queryOf(c: ChartHook): string {
    const p = new URLSearchParams({ exchange: c.query.exchange, coin: c.query.coin, interval: `${c.query.intervalMinutes}m` });
    const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
    if (c.query.fromMs !== undefined) p.set("from", iso(c.query.fromMs));
    if (c.query.toMs !== undefined) p.set("to", iso(c.query.toMs));
    return p.toString();
  }

  async function chartOf(page: Page): Promise<ChartHook> {
    await page.waitForSelector("#chart-figure[data-state=ready]");
    return ci<ChartHook>(page, "chart");
  }

  /** The drawn candles are the API's rows: same times (bucket ends), same prices and volumes, same order. */
  function expectDrawn(chart: ChartHook, api: ApiCandles) {
    expect(chart.columns).toEqual(api.columns);
    expect(chart.rows).toEqual(api.rows);
    const col = (name: string) => api.columns.indexOf(name);
    expect(chart.drawn.candles).toEqual(
      api.rows.map((r) => ({
        time: Date.parse(String(r[col("TimeStamp")])) / 1000,
        open: Number(r[col("OpenPrice")]),
        high: Number(r[col("HighPrice")]),
        low: Number(r[col("LowPrice")]),
        close: Number(r[col("ClosePrice")]),
      })),
    );
    expect(chart.drawn.volumes.map((v) => [v.time, v.value])).toEqual(api.rows.map((r) => [Date.parse(String(r[col("TimeStamp")])) / 1000, Number(r[col("Volume")])]));
  }

  test("loads under its CSP with no console error and no request leaving 127.0.0.1", async () => {
    const { page, requests, problems, response } = await open();
    await page.click(`${row("binance|BTC|1")} td`);
    await chartOf(page);
    const headers = response!.headers();
    expect(headers["content-type"]).toStartWith("text/html");
    const csp = headers["content-security-policy"]!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    expect(problems).toEqual([]);
    expect(requests.length).toBeGreaterThan(2);
    for (const url of requests) expect(url.startsWith(`${svc.base}/`) || url.startsWith("data:")).toBe(true);
    // Exactly one script, the inline one the CSP's hash allows; no inline event handler attributes.
    const html = await (await fetch(`${svc.base}/`)).text();
    expect(html.match(/<script\b/g)).toHaveLength(1);
    expect(html).not.toMatch(/<script[^>]+\bsrc=/);
    expect(html).not.toMatch(/\son[a-z]+="/);
    await page.context().close();
  });

  test("lists every series /api/series reports, with freshness, rows, gaps and exchange health", async () => {
    const { page, problems } = await open();
    const api = await svc.getJson<{ series: ApiSeries[] }>("/api/series");
    expect(api.series.length).toBe(NATIVE_EXCHANGE_IDS.length * COINS.length);
    const shown = await page.$$eval("#series-body tr", (trs) =>
      trs.map((tr) => ({
        key: tr.getAttribute("data-key"),
        header: tr.querySelector("th")?.getAttribute("scope"),
        pair: tr.querySelector("th button")?.textContent,
        cells: [...tr.querySelectorAll("td")].map((td) => td.textContent),
        level: tr.querySelector(".badge")?.getAttribute("data-level"),
      })),
    );
    expect(shown.map((s) => s.key).sort()).toEqual(api.series.map(keyOf).sort());
    for (const s of api.series) {
      const r = shown.find((x) => x.key === keyOf(s))!;
      expect(r.header).toBe("row");
      expect(r.pair).toBe(`${s.coin}/${s.quote} on ${s.exchangeName}, ${s.intervalMinutes}m`);
      const [exchange, interval, last, freshness, rows, gaps] = r.cells;
      expect(exchange).toBe(s.exchangeName);
      expect(interval).toBe(`${s.intervalMinutes}m`);
      expect(last).toBe(s.last!.slice(0, 16).replace("T", " "));
      expect(freshness).toMatch(/^fresh \d+ (s|min) ago$/);
      expect(r.level).toBe("fresh");
      expect(rows).toBe(s.rows.toLocaleString("en-US"));
      expect(gaps).toBe(String(s.missingBuckets));
    }
    const cards = await page.$$eval("#exchanges li", (lis) => lis.map((li) => [li.getAttribute("data-exchange"), li.querySelector(".badge")?.textContent]));
    expect(cards.map(([id]) => id).sort()).toEqual([...NATIVE_EXCHANGE_IDS].sort());
    for (const [, level] of cards) expect(level).toBe("healthy");
    expect(await page.textContent("#overall")).toBe("ok");
    // The table's column headers are headers, for screen readers.
    expect(await page.$$eval("#series thead th", (ths) => ths.every((th) => th.getAttribute("scope") === "col"))).toBe(true);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  test("charts the saved candles of the series chosen with a click, as /api/candles gives them", async () => {
    const { page, problems } = await open();
    const key = "kraken|ETH|1";
    await page.click(`${row(key)} td:nth-child(3)`);
    const chart = await chartOf(page);
    expect(keyOf(chart.series)).toBe(key);
    expect(chart.rows.length).toBeGreaterThan(100);
    expectDrawn(chart, await allCandles(queryOf(chart)));
    expect(await page.getAttribute(`${row(key)} button`, "aria-pressed")).toBe("true");
    expect(await page.$$eval('button.pick[aria-pressed="true"]', (b) => b.length)).toBe(1);
    expect(await page.getAttribute("#chart-figure", "data-rows")).toBe(String(chart.rows.length));
    // The canvas is an image to screen readers, named by what it shows.
    expect(await page.getAttribute("#chart", "role")).toBe("img");
    expect(await page.getAttribute("#chart", "aria-label")).toContain(`${chart.rows.length} candles`);
    const s = (await svc.getJson<{ series: ApiSeries[] }>("/api/series")).series.find((x) => keyOf(x) === key)!;
    expect(await page.textContent("#chart-heading")).toContain(`${s.coin}/${s.quote} on ${s.exchangeName}`);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  test("a chosen range is charted, and its CSV and Parquet downloads hold the same rows", async () => {
    const { page, problems } = await open();
    const key = "binance|DOGE|1";
    await page.click(`${row(key)} button`);
    await chartOf(page);
    // Thirty minutes an hour ago; the inputs are read as UTC.
    const api = await svc.getJson<{ series: ApiSeries[] }>("/api/series");
    const lastMs = Date.parse(api.series.find((s) => keyOf(s) === key)!.last!);
    const fromMs = lastMs - 90 * 60_000;
    const toMs = lastMs - 60 * 60_000;
    await page.fill("#from", new Date(fromMs).toISOString().slice(0, 16));
    await page.fill("#to", new Date(toMs).toISOString().slice(0, 16));
    await page.press("#to", "Enter");
    await page.waitForFunction((n) => (globalThis as unknown as InPage).__ci.chart.query.toMs === n, toMs);
    const chart = await chartOf(page);
    const expected = await allCandles(queryOf(chart));
    expectDrawn(chart, expected);
    expect(chart.rows.length).toBeGreaterThanOrEqual(30);
    expect(chart.rows.length).toBeLessThanOrEqual(31);
    const times = chart.rows.map((r) => Date.parse(String(r[0])));
    expect(Math.min(...times)).toBeGreaterThanOrEqual(fromMs);
    expect(Math.max(...times)).toBeLessThanOrEqual(toMs);

    const csvHref = await page.getAttribute("#download-csv", "href");
    const parquetHref = await page.getAttribute("#download-parquet", "href");
    expect(csvHref).toContain("format=csv");
    expect(parquetHref).toContain("format=parquet");
    const csv = await fetch(new URL(csvHref!, svc.base));
    expect(csv.status).toBe(200);
    const lines = (await csv.text()).trimEnd().split("\n");
    expect(lines[0]!.split(",")).toEqual(expected.columns);
    expect(lines.slice(1).map((l) => l.split(",").map((v, i) => (i < 3 ? v : Number(v))))).toEqual(expected.rows);
    const parquet = await fetch(new URL(parquetHref!, svc.base));
    expect(parquet.status).toBe(200);
    expect(await readParquet(new Uint8Array(await parquet.arrayBuffer()))).toEqual(expected.rows);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  test("works from the keyboard: Tab reaches the pairs, arrow keys move, Enter charts", async () => {
    const { page, problems } = await open();
    const focused = () => page.evaluate<string>(FOCUSED_KEY);
    let presses = 0;
    while (!(await page.evaluate<boolean>(`document.activeElement?.classList.contains("pick") === true`)) && presses++ < 20) await page.keyboard.press("Tab");
    const order = await page.$$eval("#series-body tr", (trs) => trs.map((tr) => String(tr.getAttribute("data-key"))));
    expect(await focused()).toBe(order[0]!);
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowDown");
    expect(await focused()).toBe(order[2]!);
    await page.keyboard.press("ArrowUp");
    expect(await focused()).toBe(order[1]!);
    await page.keyboard.press("Enter");
    let chart = await chartOf(page);
    expect(keyOf(chart.series)).toBe(order[1]!);
    await page.keyboard.press("End");
    expect(await focused()).toBe(order.at(-1)!);
    await page.keyboard.press(" ");
    await page.waitForFunction((k) => {
      const s = (globalThis as unknown as InPage).__ci.chart.series;
      return `${s.exchange}|${s.coin}|${s.intervalMinutes}` === k;
    }, order.at(-1)!);
    chart = await chartOf(page);
    expectDrawn(chart, await allCandles(queryOf(chart)));
    // The filter narrows the rows the arrows visit.
    await page.fill("#filter", "kucoin");
    expect(await page.$$eval("#series-body tr:not([hidden])", (trs) => trs.length)).toBe(COINS.length);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  test("refreshes itself in place: new buckets appear, rows keep their elements, nothing moves", async () => {
    const { page, problems } = await open();
    const key = "poloniex|BTC|1";
    await page.click(`${row(key)} button`);
    const before = await chartOf(page);
    await page.$$eval("#series-body tr", (trs) => {
      for (const tr of trs) tr.setAttribute("data-mark", "kept");
    });
    const box = async (selector: string) => (await page.locator(selector).boundingBox())!;
    const layout = { chart: await box("#chart"), table: await box("#series"), cards: await box("#exchanges") };
    const rowsBefore = await page.textContent(`${row(key)} td:nth-child(6)`);
    const refreshes = await ci<number>(page, "refreshes");

    await svc.nextCycle();
    // No call from the test: the page's own poll (every 10 s) picks the new bucket up.
    await page.waitForFunction((n) => (globalThis as unknown as InPage).__ci.refreshes > n, refreshes, { timeout: 15_000 });
    await page.waitForFunction((n) => (globalThis as unknown as InPage).__ci.chart.rows.length === n, before.rows.length + 1);
    const after = await chartOf(page);
    expectDrawn(after, await allCandles(queryOf(after)));
    expect(Number((await page.textContent(`${row(key)} td:nth-child(6)`))!.replace(/,/g, ""))).toBe(Number(rowsBefore!.replace(/,/g, "")) + 1);
    expect(await page.$$eval("#series-body tr", (trs) => trs.every((tr) => tr.getAttribute("data-mark") === "kept"))).toBe(true);
    expect({ chart: await box("#chart"), table: await box("#series"), cards: await box("#exchanges") }).toEqual(layout);
    expect(await page.getAttribute(`${row(key)} button`, "aria-pressed")).toBe("true");
    expect(problems).toEqual([]);
    await page.context().close();
  }, 60_000);

  test("fits a phone's width and says what it needs without JavaScript", async () => {
    const { page, problems } = await open({ width: 390, height: 844 });
    // Only the table scrolls sideways, inside its own box.
    expect(await page.evaluate<boolean>("document.documentElement.scrollWidth <= window.innerWidth")).toBe(true);
    expect(problems).toEqual([]);
    await page.context().close();
    const context = await browser.newContext({ javaScriptEnabled: false });
    const plain = await context.newPage();
    await plain.goto(`${svc.base}/`);
    expect(await plain.textContent("body")).toContain("This page needs JavaScript");
    await context.close();
  });

  test("keeps a screenshot of the page as a test artifact", async () => {
    const { page, problems } = await open();
    await page.click(`${row("binance|BTC|1")} button`);
    await chartOf(page);
    mkdirSync(ARTIFACTS, { recursive: true });
    const path = join(ARTIFACTS, "status-page.png");
    await page.screenshot({ path, fullPage: true });
    expect(Bun.file(path).size).toBeGreaterThan(10_000);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  // Last: it leaves KuCoin in an outage.
  test("shows an exchange in an outage as failing, with its error, and the service as degraded with the reason", async () => {
    const { page, problems } = await open();
    await page.click(`${row("kucoin|ETH|1")} button`);
    await chartOf(page);
    svc.h.sim.setFaults("kucoin", { outage: true });
    for (let i = 0; i < 3; i++) await svc.nextCycle();
    await ci(page, "refresh()");
    expect(await page.textContent("#overall")).toBe("degraded");
    expect(await page.textContent("#notes")).toContain("kucoin: no successful fetch in the last 3 cycles");
    expect(await page.textContent('#exchanges li[data-exchange="kucoin"] .badge')).toBe("failing");
    const error = await page.textContent('#exchanges li[data-exchange="kucoin"] .error');
    expect(error).toContain("series failed");
    for (const coin of COINS) expect(await page.textContent(`${row(`kucoin|${coin}|1`)} td.error`)).toBe(error);
    for (const id of NATIVE_EXCHANGE_IDS.filter((e) => e !== "kucoin")) expect(await page.textContent(`#exchanges li[data-exchange="${id}"] .badge`)).toBe("healthy");
    await page.screenshot({ path: join(ARTIFACTS, "status-page-degraded.png"), fullPage: true });
    expect(problems).toEqual([]);
    await page.context().close();
  });
});

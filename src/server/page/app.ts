/**
 * The status page's script: polls /api/series and /api/status every 10 s and updates the page in
 * place; charts the chosen series over the chosen range. Bundled for the browser and inlined into
 * the page (src/server/page.ts): no network fetch but the service's own API.
 *
 * For tests, `window.__ci` exposes what the chart holds and a way to refresh now.
 */
import { candlesUrl, type CandlesQuery, fetchAllCandles, getJson, parseSeries, parseStatus, type SeriesInfo, type ServiceStatus, toCandles } from "./api.ts";
import { type CandleChart, createCandleChart, type DrawnCandles } from "./chart.ts";
import { byId, make, page, type PageElement } from "./dom.ts";
import { formatAge, formatCount, formatInterval, formatUtc, formatUtcClock, fromInputValue, toInputValue } from "./format.ts";
import { EXCHANGE_LABELS, exchangeLevel, FRESHNESS_LABELS, freshness } from "./freshness.ts";

const REFRESH_MS = 10_000;
/** Candles the chart draws at most (about a week of 1-minute buckets): the first of a longer range, and the caption says so. */
const MAX_CHART_ROWS = 10_000;
/** Buckets the chart shows when a series is chosen. */
const DEFAULT_BUCKETS = 240;
const DEFAULT_SETTLE_SECONDS = 5;

interface ChartState {
  series: { exchange: string; exchangeName: string; coin: string; symbol: string; intervalMinutes: number };
  query: CandlesQuery;
  /** /api/candles rows as received, oldest first. */
  columns: string[];
  rows: unknown[][];
  truncated: boolean;
  /** What lightweight-charts holds, read back from it. */
  drawn: DrawnCandles;
}

/** `window.__ci`: what tests read instead of pixels. */
interface PageHooks {
  /** The chart on screen, once one is drawn. */
  chart: ChartState | undefined;
  /** Refreshes now (as the 10-second poll does); resolves when the page is updated. */
  refresh(): Promise<void>;
  /** Refreshes done so far, failed ones included. */
  refreshes: number;
}

const el = {
  overall: byId("overall"),
  overallText: byId("overall-text"),
  updated: byId("updated"),
  notes: byId("notes"),
  exchanges: byId("exchanges"),
  body: byId("series-body"),
  filter: byId("filter"),
  count: byId("series-count"),
  form: byId("range"),
  from: byId("from"),
  to: byId("to"),
  show: byId("show"),
  csv: byId("download-csv"),
  parquet: byId("download-parquet"),
  figure: byId("chart-figure"),
  chartBox: byId("chart"),
  caption: byId("chart-caption"),
  chartHeading: byId("chart-heading"),
};

const state = {
  series: [] as SeriesInfo[],
  status: undefined as ServiceStatus | undefined,
  /** Server clock minus browser clock, from the Date header: freshness is judged by the service's time. */
  clockOffsetMs: 0,
  selected: undefined as string | undefined,
  lastRefreshMs: undefined as number | undefined,
  /** Why the last refresh failed; undefined when it worked. */
  problem: undefined as string | undefined,
};
let chart: CandleChart | undefined;
let chartLoad = 0;

const now = () => Date.now() + state.clockOffsetMs;
const keyOf = (s: { exchange: string; coin: string; intervalMinutes: number }) => `${s.exchange}|${s.coin}|${s.intervalMinutes}`;
const settleSeconds = () => state.status?.settleSeconds ?? DEFAULT_SETTLE_SECONDS;

/** Sets text only when it changed: no needless reflow, and screen readers hear only changes. */
function setText(node: PageElement, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

function setAttr(node: PageElement, name: string, value: string): void {
  if (node.getAttribute(name) !== value) node.setAttribute(name, value);
}

// ---- The series table: one row per series, kept and updated in place across refreshes.

interface RowRefs {
  tr: PageElement;
  button: PageElement;
  coin: PageElement;
  quote: PageElement;
  context: PageElement;
  exchange: PageElement;
  interval: PageElement;
  last: PageElement;
  fresh: PageElement;
  age: PageElement;
  rows: PageElement;
  gaps: PageElement;
  error: PageElement;
}

const rowRefs = new Map<string, RowRefs>();

function createRow(key: string): RowRefs {
  const tr = make("tr");
  tr.dataset.key = key;
  const th = make("th");
  th.scope = "row";
  const button = make("button", "pick");
  button.type = "button";
  button.setAttribute("aria-pressed", "false");
  // The button's name says which series: the pair alone is ambiguous across exchanges.
  const coin = make("span");
  const quote = make("span", "quote");
  const context = make("span", "sr-only");
  button.append(coin, quote, context);
  th.append(button);
  const [exchange, interval, last, freshCell, rows, gaps, error] = [
    make("td"),
    make("td"),
    make("td", "time"),
    make("td"),
    make("td", "num"),
    make("td", "num"),
    make("td", "error"),
  ];
  const fresh = make("span", "badge");
  const age = make("span", "age");
  freshCell.append(fresh, " ", age);
  tr.append(th, exchange, interval, last, freshCell, rows, gaps, error);
  return { tr, button, coin, quote, context, exchange, interval, last, fresh, age, rows, gaps, error };
}

function updateRow(r: RowRefs, s: SeriesInfo): void {
  setText(r.coin, s.coin);
  setText(r.quote, s.quote ? `/${s.quote}` : "");
  setText(r.context, ` on ${s.exchangeName}, ${formatInterval(s.intervalMinutes)}`);
  setText(r.exchange, s.exchangeName);
  setAttr(r.exchange, "title", s.symbol ? `${s.exchangeName} calls it ${s.symbol}` : s.exchangeName);
  setText(r.interval, formatInterval(s.intervalMinutes));
  const lastMs = s.last === null ? undefined : Date.parse(s.last);
  setText(r.last, lastMs === undefined ? "—" : formatUtc(lastMs));
  updateFreshness(r, s);
  setText(r.rows, formatCount(s.rows));
  setAttr(r.rows, "title", s.filledRows > 0 ? `${formatCount(s.filledRows)} of them filled forward (no trades)` : "none filled forward");
  setText(r.gaps, formatCount(s.missingBuckets));
  r.gaps.classList.toggle("warn", s.missingBuckets > 0);
  setText(r.error, s.lastError ?? "");
  setAttr(r.error, "title", s.lastError ?? "");
  const selected = state.selected === keyOf(s);
  setAttr(r.button, "aria-pressed", String(selected));
  r.tr.classList.toggle("selected", selected);
}

function updateFreshness(r: RowRefs, s: SeriesInfo): void {
  const f = freshness(s.last === null ? undefined : Date.parse(s.last), now(), s.intervalMinutes, settleSeconds());
  setText(r.fresh, FRESHNESS_LABELS[f.level]);
  setAttr(r.fresh, "data-level", f.level);
  setText(r.age, f.level === "empty" ? "" : `${formatAge(f.ageMs)} ago`);
}

const compareSeries = (a: SeriesInfo, b: SeriesInfo) => a.exchangeName.localeCompare(b.exchangeName) || a.coin.localeCompare(b.coin) || a.intervalMinutes - b.intervalMinutes;

function renderSeries(): void {
  const list = [...state.series].sort(compareSeries);
  const keys = new Set(list.map(keyOf));
  for (const [key, r] of rowRefs) {
    if (!keys.has(key)) {
      r.tr.remove();
      rowRefs.delete(key);
    }
  }
  // Rows stay the same elements (focus and selection survive a refresh); moved only when the order changed.
  list.forEach((s, i) => {
    const key = keyOf(s);
    let r = rowRefs.get(key);
    if (!r) {
      r = createRow(key);
      rowRefs.set(key, r);
    }
    updateRow(r, s);
    if (el.body.children[i] !== r.tr) el.body.insertBefore(r.tr, el.body.children[i] ?? null);
  });
  applyFilter();
}

function applyFilter(): void {
  const words = el.filter.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  let shown = 0;
  for (const s of state.series) {
    const r = rowRefs.get(keyOf(s))!;
    const haystack = `${s.coin} ${s.symbol} ${s.exchangeName} ${s.exchange}`.toLowerCase();
    const visible = words.every((w) => haystack.includes(w));
    if (r.tr.hidden === visible) r.tr.hidden = !visible;
    if (visible) shown++;
  }
  setText(el.count, words.length > 0 ? `${shown} of ${state.series.length} series` : `${state.series.length} series`);
}

function tickAges(): void {
  for (const s of state.series) {
    const r = rowRefs.get(keyOf(s));
    if (r) updateFreshness(r, s);
  }
  renderExchanges();
  if (state.lastRefreshMs !== undefined) setText(el.updated, `Updated ${formatUtcClock(state.lastRefreshMs + state.clockOffsetMs)} UTC, every ${REFRESH_MS / 1000} s`);
}

// ---- Exchanges and overall status.

interface CardRefs {
  li: PageElement;
  name: PageElement;
  badge: PageElement;
  /** Two lines of facts, then the last error (empty, but kept, when there is none). */
  fetched: PageElement;
  counts: PageElement;
  error: PageElement;
}
const cardRefs = new Map<string, CardRefs>();

function renderExchanges(): void {
  const status = state.status;
  if (!status) return;
  const names = new Map(state.series.map((s) => [s.exchange, s.exchangeName]));
  const intervals = new Map<string, number>();
  for (const s of state.series) intervals.set(s.exchange, Math.min(intervals.get(s.exchange) ?? Infinity, s.intervalMinutes));
  const ids = Object.keys(status.exchanges).sort((a, b) => (names.get(a) ?? a).localeCompare(names.get(b) ?? b));
  for (const [id, c] of cardRefs) {
    if (!(id in status.exchanges)) {
      c.li.remove();
      cardRefs.delete(id);
    }
  }
  ids.forEach((id, i) => {
    const e = status.exchanges[id]!;
    let c = cardRefs.get(id);
    if (!c) {
      const li = make("li");
      li.dataset.exchange = id;
      const [name, badge, fetched, counts, error] = [make("strong"), make("span", "badge"), make("span", "detail"), make("span", "detail"), make("span", "detail error")];
      li.append(name, " ", badge, fetched, counts, error);
      c = { li, name, badge, fetched, counts, error };
      cardRefs.set(id, c);
    }
    if (el.exchanges.children[i] !== c.li) el.exchanges.insertBefore(c.li, el.exchanges.children[i] ?? null);
    const intervalMinutes = intervals.get(id) ?? status.intervalMinutes ?? 1;
    const lastCycle = status.lastCycles[id];
    const stale = status.reasons.some((r) => r.startsWith(`${id}: no successful fetch`));
    const level = exchangeLevel({ ...e, lastCycle, stale }, now(), intervalMinutes, settleSeconds(), status.status === "starting");
    setText(c.name, names.get(id) ?? id);
    setText(c.badge, EXCHANGE_LABELS[level]);
    setAttr(c.badge, "data-level", level);
    const lastMs = e.lastSuccess === null ? undefined : Date.parse(e.lastSuccess);
    const fetched = [lastMs === undefined ? "no success yet" : `last success ${formatAge(now() - lastMs)} ago`, `lag ${e.lagBuckets} bucket${e.lagBuckets === 1 ? "" : "s"}`];
    if (level === "banned" && e.bannedUntil) fetched.push(`banned until ${formatUtc(Date.parse(e.bannedUntil))}`);
    setText(c.fetched, fetched.join(" · "));
    const counts = lastCycle ? [`last cycle: ${lastCycle.seriesOk} of ${lastCycle.seriesOk + lastCycle.seriesFailed} series ok`] : [];
    counts.push(`${formatCount(e.errors)} error${e.errors === 1 ? "" : "s"} in all`);
    setText(c.counts, counts.join(" · "));
    setText(c.error, e.lastError ?? "");
    setAttr(c.error, "title", e.lastError ?? "");
  });
}

function renderStatus(): void {
  const status = state.status;
  if (!status) return;
  setText(el.overall, status.status);
  setAttr(el.overall, "data-level", status.status);
  const sinks = Object.entries(status.sinks);
  const sinkText =
    sinks.length === 0
      ? ""
      : ` Sinks: ${sinks.map(([n, s]) => `${n} ${s.consecutiveFailures > 0 ? `failing (${s.consecutiveFailures} cycles)` : s.lastSuccess ? "writing" : "not written yet"}`).join(", ")}.`;
  setText(el.overallText, `${formatCount(status.cycles)} cycle${status.cycles === 1 ? "" : "s"} run.${sinkText}`);
  renderExchanges();
}

/** The header's notes line: why the service cannot be reached, else why it is not ok. */
function renderNotes(): void {
  const reasons = state.status?.reasons.join("; ") ?? "";
  const text = state.problem ?? reasons;
  setText(el.notes, text);
  setAttr(el.notes, "title", text);
  setAttr(el.notes, "data-level", state.problem ? "problem" : "reasons");
}

// ---- Refresh loop.

let refreshing: Promise<void> | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;

async function refreshOnce(): Promise<void> {
  try {
    const [series, status] = await Promise.all([getJson("/api/series"), getJson("/api/status").catch(() => getJson("/health"))]);
    const serverNow = series.serverNowMs ?? status.serverNowMs;
    // The Date header has whole seconds: keep the offset unless it is off by more than that.
    if (serverNow !== undefined && Math.abs(serverNow - Date.now() - state.clockOffsetMs) > 1500) state.clockOffsetMs = serverNow - Date.now();
    const previous = new Map(state.series.map((s) => [keyOf(s), s.last]));
    state.series = parseSeries(series.body);
    state.status = parseStatus(status.body);
    state.lastRefreshMs = Date.now();
    renderStatus();
    renderSeries();
    tickAges();
    state.problem = undefined;
    renderNotes();
    page.document().body.dataset.loaded = "true";
    // A chart up to the latest bucket follows new buckets.
    const chosen = state.series.find((s) => keyOf(s) === state.selected);
    if (chosen && hooks.chart && hooks.chart.query.toMs === undefined && previous.get(keyOf(chosen)) !== chosen.last) await loadChart();
  } catch (error) {
    const when = state.lastRefreshMs === undefined ? "" : ` Showing what it said at ${formatUtcClock(state.lastRefreshMs + state.clockOffsetMs)} UTC.`;
    state.problem = `Could not reach the service (${error instanceof Error ? error.message : String(error)}); trying again in ${REFRESH_MS / 1000} s.${when}`;
    renderNotes();
  } finally {
    hooks.refreshes++;
  }
}

/** One refresh at a time; the next is scheduled when it ends, so a slow service never piles them up. */
function refresh(): Promise<void> {
  if (timer !== undefined) clearTimeout(timer);
  refreshing ??= refreshOnce().finally(() => {
    refreshing = undefined;
    // A hidden tab skips its polls; it refreshes as soon as it is shown again (visibilitychange).
    timer = setTimeout(() => void (page.document().hidden ? undefined : refresh()), REFRESH_MS);
  });
  return refreshing;
}

// ---- The chart of the chosen series.

function selectedSeries(): SeriesInfo | undefined {
  return state.series.find((s) => keyOf(s) === state.selected);
}

function select(key: string): void {
  const s = state.series.find((x) => keyOf(x) === key);
  if (!s) return;
  state.selected = key;
  for (const [k, r] of rowRefs) {
    setAttr(r.button, "aria-pressed", String(k === key));
    r.tr.classList.toggle("selected", k === key);
  }
  const lastMs = s.last === null ? undefined : Date.parse(s.last);
  const firstMs = s.first === null ? undefined : Date.parse(s.first);
  const fromMs = lastMs === undefined ? undefined : Math.max(firstMs ?? -Infinity, lastMs - (DEFAULT_BUCKETS - 1) * s.intervalMinutes * 60_000);
  el.from.value = fromMs === undefined ? "" : toInputValue(fromMs);
  el.to.value = "";
  for (const input of [el.from, el.to, el.show]) input.disabled = false;
  void loadChart();
}

function currentQuery(s: SeriesInfo): CandlesQuery {
  return { exchange: s.exchange, coin: s.coin, intervalMinutes: s.intervalMinutes, fromMs: fromInputValue(el.from.value), toMs: fromInputValue(el.to.value) };
}

function setDownloads(q: CandlesQuery | undefined): void {
  for (const [a, format] of [
    [el.csv, "csv"],
    [el.parquet, "parquet"],
  ] as const) {
    if (q) {
      a.href = candlesUrl(q, format);
      a.setAttribute("download", "");
      a.removeAttribute("aria-disabled");
    } else {
      a.removeAttribute("href");
      a.setAttribute("aria-disabled", "true");
    }
  }
}

async function loadChart(): Promise<void> {
  const s = selectedSeries();
  if (!s) return;
  const q = currentQuery(s);
  if (q.fromMs !== undefined && q.toMs !== undefined && q.fromMs > q.toMs) {
    setText(el.caption, "The range is empty: From is after To.");
    return;
  }
  const load = ++chartLoad;
  const title = `${s.coin}${s.quote ? `/${s.quote}` : ""} on ${s.exchangeName}${s.symbol ? ` (${s.symbol})` : ""}, ${formatInterval(s.intervalMinutes)}`;
  setText(el.chartHeading, `Chart: ${title}`);
  setDownloads(q);
  el.figure.dataset.state = "loading";
  el.figure.setAttribute("aria-busy", "true");
  try {
    const { columns, rows, truncated } = await fetchAllCandles(q, MAX_CHART_ROWS);
    if (load !== chartLoad) return; // a newer choice won
    const candles = toCandles(columns, rows);
    chart ??= createCandleChart(el.chartBox);
    chart.show(candles);
    hooks.chart = {
      series: { exchange: s.exchange, exchangeName: s.exchangeName, coin: s.coin, symbol: s.symbol, intervalMinutes: s.intervalMinutes },
      query: q,
      columns,
      rows,
      truncated,
      drawn: chart.drawn(),
    };
    const span =
      candles.length === 0
        ? "no candles in this range"
        : `${formatCount(candles.length)} candle${candles.length === 1 ? "" : "s"}, ${formatUtc(candles[0]!.timeMs)} to ${formatUtc(candles.at(-1)!.timeMs)} UTC${truncated ? ` (the first ${formatCount(MAX_CHART_ROWS)}; narrow the range for the rest)` : ""}`;
    setText(el.caption, `${title}: ${span}.`);
    const lastClose = candles.at(-1)?.close;
    setAttr(el.chartBox, "aria-label", `Candlestick chart with volume of ${title}: ${span}${lastClose === undefined ? "" : `; last close ${lastClose}`}.`);
    el.figure.dataset.rows = String(candles.length);
    el.figure.dataset.state = "ready";
  } catch (error) {
    if (load !== chartLoad) return;
    el.figure.dataset.state = "error";
    setText(el.caption, `Could not load the candles of ${title}: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    if (load === chartLoad) el.figure.removeAttribute("aria-busy");
  }
}

// ---- Events (no inline handlers: the CSP allows no inline script but the page's own).

el.body.addEventListener("click", (event) => {
  const target = event.target as PageElement;
  const key = target.closest("tr[data-key]")?.dataset.key;
  if (!key) return;
  // A click elsewhere in the row still chooses it; keyboard focus goes to its button.
  if (!target.closest("button")) rowRefs.get(key)?.button.focus({ preventScroll: true });
  select(key);
});

// Arrow keys, Home and End move between the coins' buttons; Enter or Space chooses (the button's own behaviour).
el.body.addEventListener("keydown", (event) => {
  const button = (event.target as PageElement).closest("button.pick");
  if (!button) return;
  const buttons = [...el.body.querySelectorAll("tr:not([hidden]) button.pick")];
  const i = buttons.indexOf(button);
  const next = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: buttons.length - 1 }[event.key];
  if (next === undefined || buttons.length === 0) return;
  event.preventDefault();
  buttons[Math.min(buttons.length - 1, Math.max(0, next))]!.focus();
});

el.form.addEventListener("submit", (event) => {
  event.preventDefault();
  void loadChart();
});
el.filter.addEventListener("input", applyFilter);
page.document().addEventListener("visibilitychange", () => {
  if (!page.document().hidden) void refresh();
});

const hooks: PageHooks = { chart: undefined, refresh, refreshes: 0 };
page.window().__ci = hooks;
setDownloads(undefined);
setInterval(tickAges, 1000);
void refresh();

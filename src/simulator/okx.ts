import { everyMinutes, MONDAY_WEEKS, rowsUpTo, type BucketScheme, type SeriesRow } from "./candle-series.ts";
import { createAsciiWriter, type AsciiWriter } from "../ascii-writer.ts";
import { trimmed } from "./decimal-text.ts";
import { findSimMarket, SIM_LISTINGS, type SimMarket } from "./listings.ts";
import { getSeries, priceDecimals, SIM_LISTED_FROM_MS, type SimSeries } from "./price-model.ts";
import { partialTicks, previousCloseTicks, rangeTicks } from "./range-ticks.ts";
import { wireTime, type SimCandleQuery } from "./candle-log.ts";
import { createFixedWindow, type FixedWindow } from "./rate-window.ts";
import { isDelisted, param, reply, type SimReply, type SimRequest, type SimService } from "./reply.ts";

/**
 * OKX v5 spot, as ccxt's `okx` class calls it (served for the ccxt path; there is no native adapter):
 * `/api/v5/public/instruments`, `/api/v5/market/candles` (the latest 1440 bars),
 * `/api/v5/market/history-candles` (back to the listing start, the forming bar included: UNCONFIRMED),
 * `/api/v5/public/time`.
 * Candle rows come newest first, `after`/`before` are exclusive open-time bounds, and when the
 * window holds more than `limit` bars the NEWEST `limit` of it come back (paging with `after` walks
 * back in time; `before` alone gives the latest bars, as documented). Errors are a string `code` in
 * the body: 51001 unknown instrument (HTTP 200), 51000/50014 bad or missing parameter (HTTP 400),
 * 50011 rate limit (HTTP 429). Limits are per endpoint in fixed 2 s windows.
 * @see https://www.okx.com/docs-v5/en/#public-data-rest-api-get-instruments
 * @see https://www.okx.com/docs-v5/en/#order-book-trading-market-data-get-candlesticks
 * @see https://www.okx.com/docs-v5/en/#order-book-trading-market-data-get-candlesticks-history
 */
export const OKX_DEFAULT_LIMIT = 100;
export const OKX_MAX_LIMIT = 300;
/**
 * history-candles was capped at 100 rows until 2025 (ccxt PR #20802 saw 100 for limit=300); the docs
 * now say 300, and ccxt 4.5.84 sends 300 there since ccxt #26705/#26723. We follow the current docs.
 */
export const OKX_HISTORY_MAX_LIMIT = 300;
/** `/market/candles` serves only this many bars back from the one forming now. */
export const OKX_RECENT_BARS = 1440;
export const OKX_RATE_WINDOW_MS = 2000;
/** Requests per 2 s window, per endpoint and IP (docs-v5 "Rate Limit" of each endpoint). */
export const OKX_RATE_LIMITS = { candles: 40, historyCandles: 20, instruments: 20, time: 10 } as const;
export const OKX_CODES = { ok: "0", rateLimited: "50011", emptyParameter: "50014", badParameter: "51000", unknownInstrument: "51001" } as const;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Hong Kong bars (`6H`…`1M`) open at 00:00 UTC+8. */
const HK_ZONE_MS = 8 * HOUR_MS;

/** Calendar bars of `months` months opening on the 1st at 00:00 in a zone `zoneMs` ahead of UTC. */
interface CalendarBars {
  months: number;
  zoneMs: number;
}

/** Epoch-aligned bars shifted so they open at 00:00 UTC+8 (multi-day bars: epoch-aligned in that zone, UNCONFIRMED). */
function hongKong(minutes: number): BucketScheme {
  return { kind: "fixed", sizeMs: minutes * 60_000, offsetMs: -HK_ZONE_MS };
}

/** The `bar` values (case-sensitive: `1m` a minute, `1M` a month). */
const BARS: Record<string, BucketScheme | CalendarBars> = {
  "1m": everyMinutes(1),
  "3m": everyMinutes(3),
  "5m": everyMinutes(5),
  "15m": everyMinutes(15),
  "30m": everyMinutes(30),
  "1H": everyMinutes(60),
  "2H": everyMinutes(120),
  "4H": everyMinutes(240),
  "6H": hongKong(360),
  "12H": hongKong(720),
  "1D": hongKong(1440),
  "2D": hongKong(2 * 1440),
  "3D": hongKong(3 * 1440),
  // Monday 00:00 UTC+8 (the epoch was a Thursday): Sunday 16:00 UTC.
  "1W": { kind: "fixed", sizeMs: 7 * DAY_MS, offsetMs: 4 * DAY_MS - HK_ZONE_MS },
  "1M": { months: 1, zoneMs: HK_ZONE_MS },
  "3M": { months: 3, zoneMs: HK_ZONE_MS },
  "6Hutc": everyMinutes(360),
  "12Hutc": everyMinutes(720),
  "1Dutc": everyMinutes(1440),
  "2Dutc": everyMinutes(2 * 1440),
  "3Dutc": everyMinutes(3 * 1440),
  "1Wutc": MONDAY_WEEKS,
  "1Mutc": { months: 1, zoneMs: 0 },
  "3Mutc": { months: 3, zoneMs: 0 },
};

type Endpoint = keyof typeof OKX_RATE_LIMITS;

const PATHS: Record<string, Endpoint> = {
  "/api/v5/market/candles": "candles",
  "/api/v5/market/history-candles": "historyCandles",
  "/api/v5/public/instruments": "instruments",
  "/api/v5/public/time": "time",
};

const INST_TYPES = new Set(["SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION"]);

/** An error envelope; errors inside a 200 body still count as errors. */
const failure = (status: number, code: string, msg: string) => reply(status, { code, msg, data: [] }, {}, status === 429 ? "rateLimited" : "error");
const badParameter = (name: string) => failure(400, OKX_CODES.badParameter, `Parameter ${name} error`);
const emptyParameter = (name: string) => failure(400, OKX_CODES.emptyParameter, `Parameter ${name} can not be empty`);
const unknownInstrument = () => failure(200, OKX_CODES.unknownInstrument, "Instrument ID does not exist");

export function createOkxService(seed: number): SimService {
  const windows = Object.fromEntries(Object.keys(OKX_RATE_LIMITS).map((k) => [k, createFixedWindow(OKX_RATE_WINDOW_MS)])) as Record<Endpoint, FixedWindow>;

  /** The market an instId names (live or suspended), unless delisted by a fault. */
  function marketOf(req: SimRequest, instId: string): SimMarket | undefined {
    const market = findSimMarket("okx", instId);
    return market && !isDelisted(req.faults, market.coin) ? market : undefined;
  }

  function candles(req: SimRequest, history: boolean): SimReply {
    const q = req.query;
    const instId = param(q, "instId");
    if (instId === undefined) return emptyParameter("instId");
    const bar = BARS[param(q, "bar") ?? "1m"];
    if (bar === undefined) return badParameter("bar");
    const numbers: Record<string, number> = {};
    for (const name of ["after", "before", "limit"]) {
      const text = param(q, name);
      if (text === undefined) continue;
      if (!/^[0-9]{1,16}$/.test(text)) return badParameter(name);
      numbers[name] = Number(text);
    }
    const requested = numbers.limit ?? OKX_DEFAULT_LIMIT;
    if (requested < 1) return badParameter("limit");
    // A larger limit is served at the cap, not refused (what clients observed when caps changed).
    const limit = Math.min(requested, history ? OKX_HISTORY_MAX_LIMIT : OKX_MAX_LIMIT);
    const market = marketOf(req, instId);
    const series = market ? getSeries("okx", market.coin, seed) : undefined;
    if (!series) return unknownInstrument();

    // Exclusive bounds on the open time.
    let fromMs = numbers.before === undefined ? 0 : numbers.before + 1;
    const toMs = numbers.after === undefined ? req.nowMs : numbers.after - 1;
    const omitEmpty = req.faults.omitEmpty ?? false;
    let rows: SeriesRow[];
    if ("months" in bar) {
      // 1440 months reach back past the listing start: the recent window never cuts month bars.
      rows = calendarRows(series, bar, req.nowMs, omitEmpty, fromMs, toMs, limit);
    } else {
      if (!history) fromMs = Math.max(fromMs, recentStart(bar, req.nowMs));
      rows = rowsUpTo({ series, scheme: bar, nowMs: req.nowMs, omitEmpty }, fromMs, toMs, limit);
    }

    const w = createAsciiWriter(rows.length * 120 + 32);
    w.text('{"code":"0","msg":"","data":[');
    for (let i = rows.length - 1; i >= 0; i--) {
      writeCandle(w, series, rows[i]!);
      if (i > 0) w.text(",");
    }
    w.text("]}");
    return reply(200, w.bytes());
  }

  function instruments(req: SimRequest): SimReply {
    const instType = param(req.query, "instType");
    if (instType === undefined) return emptyParameter("instType");
    if (!INST_TYPES.has(instType)) return badParameter("instType");
    // Only spot is simulated: margin, swaps, futures and options list nothing.
    if (instType !== "SPOT") return reply(200, { code: "0", msg: "", data: [] });
    const instId = param(req.query, "instId");
    if (instId !== undefined) {
      const market = marketOf(req, instId);
      return market ? reply(200, { code: "0", msg: "", data: [instrumentInfo(market)] }) : unknownInstrument();
    }
    const data = SIM_LISTINGS.okx.filter((m) => !isDelisted(req.faults, m.coin)).map(instrumentInfo);
    return reply(200, { code: "0", msg: "", data });
  }

  function run(endpoint: Endpoint, req: SimRequest): SimReply {
    switch (endpoint) {
      case "candles":
        return candles(req, false);
      case "historyCandles":
        return candles(req, true);
      case "instruments":
        return instruments(req);
      case "time":
        return reply(200, { code: "0", msg: "", data: [{ ts: String(req.nowMs) }] });
    }
  }

  return {
    handle(req) {
      const endpoint = PATHS[req.path];
      if (endpoint === undefined) return undefined;
      const window = windows[endpoint];
      const limit = Math.max(1, Math.round(OKX_RATE_LIMITS[endpoint] * (req.faults.rateLimitScale ?? 1)));
      if (window.used(req.nowMs) + 1 > limit) return failure(429, OKX_CODES.rateLimited, "Too Many Requests");
      window.add(req.nowMs, 1);
      return run(endpoint, req);
    },
    reset: () => {
      for (const w of Object.values(windows)) w.clear();
    },
    candleQuery: candlesQuery,
  };
}

/** Both candle endpoints; `before` and `after` are exclusive open-time bounds. */
function candlesQuery(path: string, query: URLSearchParams): SimCandleQuery | undefined {
  const endpoint = PATHS[path];
  if (endpoint !== "candles" && endpoint !== "historyCandles") return undefined;
  return { symbol: param(query, "instId") ?? null, interval: param(query, "bar") ?? "1m", startMs: wireTime(query, "before"), endMs: wireTime(query, "after") };
}

/** Open time of the oldest bar `/market/candles` still serves: 1439 bars before the one forming now. */
function recentStart(scheme: BucketScheme, nowMs: number): number {
  if (scheme.kind !== "fixed") return 0;
  const current = Math.floor((nowMs - scheme.offsetMs) / scheme.sizeMs) * scheme.sizeMs + scheme.offsetMs;
  return current - (OKX_RECENT_BARS - 1) * scheme.sizeMs;
}

/** Open of the calendar bar holding `timeMs`, or `count` bars after (negative: before) it. */
function calendarOpen(bar: CalendarBars, timeMs: number, count = 0): number {
  const d = new Date(timeMs + bar.zoneMs);
  const month = d.getUTCMonth();
  return Date.UTC(d.getUTCFullYear(), month - (month % bar.months) + count * bar.months, 1) - bar.zoneMs;
}

/**
 * Calendar bars with open time in [fromMs, toMs], oldest first, the most recent `limit` of them (the
 * shared bucket schemes know only UTC single months; OKX also has quarters and UTC+8 months).
 */
function calendarRows(series: SimSeries, bar: CalendarBars, nowMs: number, omitEmpty: boolean, fromMs: number, toMs: number, limit: number): SeriesRow[] {
  const start = Math.max(fromMs, calendarOpen(bar, SIM_LISTED_FROM_MS));
  const first = calendarOpen(bar, start) < start ? calendarOpen(bar, start, 1) : start;
  const rows: SeriesRow[] = [];
  for (let open = calendarOpen(bar, Math.min(toMs, nowMs)); open >= first && rows.length < limit; open = calendarOpen(bar, open, -1)) {
    const end = calendarOpen(bar, open, 1);
    const inProgress = end > nowMs;
    const candle = inProgress ? partialTicks(series, open, nowMs) : rangeTicks(series, open, end);
    if (candle !== null) {
      rows.push({ openTimeMs: open, endMs: end, candle, previousClose: candle.open, inProgress });
    } else if (!omitEmpty) {
      const previousClose = previousCloseTicks(series, open);
      if (previousClose !== null) rows.push({ openTimeMs: open, endMs: end, candle: null, previousClose, inProgress });
    }
  }
  return rows.reverse();
}

/**
 * `["ts","o","h","l","c","vol","volCcy","volCcyQuote","confirm"]`, all strings. For spot `vol` is
 * the base volume and both `volCcy` and `volCcyQuote` the quote volume; `confirm` is "0" while the bar
 * is still forming. A bar without trades carries the previous close and zero volume.
 */
function writeCandle(w: AsciiWriter, s: SimSeries, row: SeriesRow): void {
  const d = s.decimals;
  const price = (ticks: number) => {
    w.text('"');
    w.trimmed(ticks, d);
    w.text('",');
  };
  w.text('["');
  w.int(row.openTimeMs);
  w.text('",');
  const c = row.candle;
  if (c === null) {
    for (let i = 0; i < 4; i++) price(row.previousClose);
    w.text('"0","0","0",');
  } else {
    price(c.open);
    price(c.high);
    price(c.low);
    price(c.close);
    w.text('"');
    w.trimmed(c.volumeUnits, 4);
    w.text('","');
    quoteVolume(w, c.quoteVolume);
    w.text('","');
    quoteVolume(w, c.quoteVolume);
    w.text('",');
  }
  w.text(row.inProgress ? '"0"]' : '"1"]');
}

/** An approximate quote volume to 4 decimals, trailing zeros dropped (whole units past 2^53). */
function quoteVolume(w: AsciiWriter, value: number): void {
  const units = Math.round(value * 10_000);
  if (Number.isSafeInteger(units)) w.trimmed(units, 4);
  else w.text(String(Math.round(value)));
}

/** Every field ccxt's `parseMarket` reads, spelled as OKX sends them for spot (empty strings for contract fields). */
function instrumentInfo(m: SimMarket) {
  const margin = m.coin === "BTC" || m.coin === "ETH";
  return {
    alias: "",
    auctionEndTime: "",
    baseCcy: m.baseAsset,
    category: "1",
    contTdSwTime: "",
    ctMult: "",
    ctType: "",
    ctVal: "",
    ctValCcy: "",
    expTime: "",
    futureSettlement: false,
    instFamily: "",
    instId: m.symbol,
    instIdCode: instIdCode(m),
    instType: "SPOT",
    lever: margin ? "10" : "",
    listTime: String(SIM_LISTED_FROM_MS),
    lotSz: "0.0001",
    maxIcebergSz: "9999999999",
    maxLmtAmt: "1000000",
    maxLmtSz: "9999999999",
    maxMktAmt: "1000000",
    maxMktSz: "1000000",
    maxStopSz: "1000000",
    maxTriggerSz: "9999999999",
    maxTwapSz: "9999999999",
    minSz: "0.0001",
    openType: "",
    optType: "",
    quoteCcy: m.quoteAsset,
    ruleType: "normal",
    settleCcy: "",
    state: m.status,
    stk: "",
    tickSz: trimmed(1, priceDecimals(m.coin)),
    tradeQuoteCcyList: [m.quoteAsset],
    uly: "",
  };
}

/** A stable numeric id per listing (OKX's `instIdCode`). */
function instIdCode(m: SimMarket): number {
  return 1_000_000 + SIM_LISTINGS.okx.indexOf(m);
}

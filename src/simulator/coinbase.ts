import { everyMinutes, rowsUpTo, type BucketScheme, type SeriesRow } from "./candle-series.ts";
import { createAsciiWriter, type AsciiWriter } from "../ascii-writer.ts";
import { simCoinByTicker } from "./coins.ts";
import { fixed, trimmed } from "./decimal-text.ts";
import { findSimMarket, SIM_LISTINGS, type SimMarket } from "./listings.ts";
import { hashString } from "./noise.ts";
import { getSeries, type SimSeries } from "./price-model.ts";
import { partialTicks, previousCloseTicks, rangeTicks } from "./range-ticks.ts";
import { wireTime, type SimCandleQuery } from "./candle-log.ts";
import { createFixedWindow } from "./rate-window.ts";
import { isDelisted, param, reply, type SimReply, type SimRequest, type SimService } from "./reply.ts";

/**
 * Coinbase Advanced Trade public market data as ccxt's `coinbase` calls it without keys: `/api/v3/brokerage/
 * market/products[/{id}[/candles]]`, `/api/v3/brokerage/time`, and the `/v2` currencies, rates and time it
 * reads while loading markets. Candles: strings, newest first, at most 350, quiet intervals omitted.
 * 10 v3 requests a second (fixed window), 10,000 v2 an hour; then 429.
 * @see https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/public/get-public-product-candles
 */
export const COINBASE_MAX_CANDLES = 350;
export const COINBASE_REQUESTS_PER_SECOND = 10;
export const COINBASE_V2_REQUESTS_PER_HOUR = 10_000;

/** Granularity names and their minutes; ONE_DAY opens at 00:00 UTC. No FOUR_HOUR (ccxt has no 4h timeframe). */
export const COINBASE_GRANULARITY_MINUTES: Readonly<Record<string, number>> = {
  ONE_MINUTE: 1,
  FIVE_MINUTE: 5,
  FIFTEEN_MINUTE: 15,
  THIRTY_MINUTE: 30,
  ONE_HOUR: 60,
  TWO_HOUR: 120,
  SIX_HOUR: 360,
  ONE_DAY: 1440,
};
const SCHEMES: Record<string, BucketScheme> = Object.fromEntries(Object.entries(COINBASE_GRANULARITY_MINUTES).map(([name, minutes]) => [name, everyMinutes(minutes)]));

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const FIAT: readonly (readonly [string, string, string])[] = [
  ["USD", "US Dollar", "1"],
  ["EUR", "Euro", "0.92"],
  ["GBP", "British Pound", "0.79"],
];

/** Advanced Trade errors are gRPC status names with the reason twice (`error_details`, `message`). */
const failure = (status: number, error: string, message: string) => reply(status, { error, error_details: message, message });
const invalid = (message: string) => failure(400, "INVALID_ARGUMENT", message);
const notFound = (productId: string) => failure(404, "NOT_FOUND", `Product ${productId} not supported`);
const invalidRange = (why: string) => invalid(`start and end argument is invalid - ${why}`);

export function createCoinbaseService(seed: number): SimService {
  const perSecond = createFixedWindow(1000);
  const perHour = createFixedWindow(HOUR_MS);

  /** The product a path names (tradable or not), unless delisted by a fault. */
  function productOf(req: SimRequest, productId: string): { market: SimMarket; series: SimSeries } | undefined {
    const market = findSimMarket("coinbase", productId);
    const series = market && !isDelisted(req.faults, market.coin) ? getSeries("coinbase", market.coin, seed) : undefined;
    return market && series ? { market, series } : undefined;
  }

  function candles(req: SimRequest, productId: string): SimReply {
    const q = req.query;
    const granularity = param(q, "granularity");
    if (granularity === undefined) return invalid("granularity is required");
    const scheme = SCHEMES[granularity];
    if (scheme === undefined) return invalid(`granularity ${granularity} is not supported`);
    const product = productOf(req, productId);
    if (!product) return notFound(productId);
    const startText = param(q, "start");
    const endText = param(q, "end");
    if (startText === undefined || endText === undefined) return invalidRange("start and end are required");
    if (!/^[0-9]{1,12}$/.test(startText) || !/^[0-9]{1,12}$/.test(endText)) return invalidRange("start and end must be UNIX seconds");
    const start = Number(startText);
    const end = Number(endText);
    if (start > end) return invalidRange("end must not be before start");
    // Counted as intervals spanned: live probes reported a 350-interval span passing and 351 refused.
    if ((end - start) / (COINBASE_GRANULARITY_MINUTES[granularity]! * 60) > COINBASE_MAX_CANDLES) {
      return invalidRange(`number of candles requested should be less than ${COINBASE_MAX_CANDLES}`);
    }
    const limitText = param(q, "limit") ?? "0";
    if (!/^[0-9]{1,6}$/.test(limitText)) return invalid(`invalid limit: ${limitText}`);
    // 0 (or absent) is the proto3 default: 350.
    const limit = Number(limitText) === 0 ? COINBASE_MAX_CANDLES : Number(limitText);
    if (limit > COINBASE_MAX_CANDLES) return invalid(`limit must be at most ${COINBASE_MAX_CANDLES}`);
    const { series } = product;
    const window = { series, scheme, nowMs: req.nowMs, omitEmpty: req.faults.omitEmpty ?? true };
    // Both bounds inclusive of a candle opening on them (as the Exchange API's are); the newest `limit`.
    const rows = rowsUpTo(window, start * 1000, end * 1000, limit);
    const w = createAsciiWriter(rows.length * 130 + 16);
    w.text('{"candles":[');
    for (let i = rows.length - 1; i >= 0; i--) {
      writeCandle(w, series, rows[i]!);
      if (i > 0) w.text(",");
    }
    w.text("]}");
    return reply(200, w.bytes());
  }

  function products(req: SimRequest): SimReply {
    const q = req.query;
    const type = param(q, "product_type") ?? "SPOT";
    if (type !== "SPOT" && type !== "FUTURE") return invalid(`invalid product_type: ${type}`);
    const wanted = q.getAll("product_ids").filter((id) => id !== "");
    // No futures are simulated (ccxt asks for expiring and perpetual ones while loading markets).
    const listed = type === "FUTURE" ? [] : SIM_LISTINGS.coinbase.filter((m) => !isDelisted(req.faults, m.coin) && (wanted.length === 0 || wanted.includes(m.symbol)));
    const items = listed.map((m) => productInfo(m, getSeries("coinbase", m.coin, seed)!, req.nowMs));
    return reply(200, {
      products: items,
      num_products: items.length,
      pagination: { prev_cursor: "", next_cursor: "", has_next: false, has_prev: false },
    });
  }

  function product(req: SimRequest, productId: string): SimReply {
    const found = productOf(req, productId);
    return found ? reply(200, productInfo(found.market, found.series, req.nowMs)) : notFound(productId);
  }

  function v3(req: SimRequest): SimReply | undefined {
    const path = req.path;
    if (path === "/api/v3/brokerage/time") {
      return reply(200, { iso: new Date(req.nowMs).toISOString(), epochSeconds: String(Math.floor(req.nowMs / 1000)), epochMillis: String(req.nowMs) });
    }
    if (path === "/api/v3/brokerage/market/products") return products(req);
    const match = /^\/api\/v3\/brokerage\/market\/products\/([^/]+)(\/candles)?$/.exec(path);
    if (!match) return undefined;
    const productId = decodeURIComponent(match[1]!);
    return match[2] ? candles(req, productId) : product(req, productId);
  }

  function v2(req: SimRequest): SimReply | undefined {
    switch (req.path) {
      case "/v2/currencies":
        return reply(200, { data: FIAT.map(([id, name]) => ({ id, name, min_size: "0.01" })) });
      case "/v2/currencies/crypto":
        return reply(200, { data: cryptoCurrencies() });
      case "/v2/exchange-rates":
        return reply(200, { data: { currency: "USD", rates: exchangeRates(req.nowMs) } });
      case "/v2/time":
        return reply(200, { data: { iso: new Date(req.nowMs).toISOString().replace(/\.\d{3}Z$/, "Z"), epoch: Math.floor(req.nowMs / 1000) } });
      default:
        return undefined;
    }
  }

  /** Units of each currency one US dollar buys, from the simulated prices at now. */
  function exchangeRates(nowMs: number): Record<string, string> {
    const rates: Record<string, string> = {};
    for (const [id, , rate] of FIAT) rates[id] = rate;
    rates.USDC = "1";
    for (const coin of coinbaseCoins()) {
      const series = getSeries("coinbase", coin, seed);
      const close = series ? previousCloseTicks(series, nowMs) : null;
      if (series && close !== null && close > 0) rates[coin] = significant(series.tickScale / close);
    }
    return rates;
  }

  return {
    handle(req) {
      if (!isKnownPath(req.path)) return undefined;
      const isV2 = req.path.startsWith("/v2/");
      const counter = isV2 ? perHour : perSecond;
      const perWindow = isV2 ? COINBASE_V2_REQUESTS_PER_HOUR : COINBASE_REQUESTS_PER_SECOND;
      const limit = Math.max(1, Math.round(perWindow * (req.faults.rateLimitScale ?? 1)));
      if (counter.used(req.nowMs) + 1 > limit) {
        // v2: the Coinbase App's documented error list. v3's body is undocumented: one without an
        // `error` code, so ccxt maps the status itself (429 → RateLimitExceeded).
        return isV2 ? reply(429, { errors: [{ id: "rate_limit_exceeded", message: "Too many requests" }] }) : reply(429, { message: "Too Many Requests" });
      }
      counter.add(req.nowMs, 1);
      return isV2 ? v2(req) : v3(req);
    },
    reset() {
      perSecond.clear();
      perHour.clear();
    },
    candleQuery: candlesQuery,
  };
}

function candlesQuery(path: string, query: URLSearchParams): SimCandleQuery | undefined {
  const match = /^\/api\/v3\/brokerage\/market\/products\/([^/]+)\/candles$/.exec(path);
  if (!match) return undefined;
  return { symbol: decodeURIComponent(match[1]!), interval: param(query, "granularity") ?? null, startMs: wireTime(query, "start", 1000), endMs: wireTime(query, "end", 1000) };
}

function isKnownPath(path: string): boolean {
  return (
    path === "/v2/currencies" ||
    path === "/v2/currencies/crypto" ||
    path === "/v2/exchange-rates" ||
    path === "/v2/time" ||
    path === "/api/v3/brokerage/time" ||
    path === "/api/v3/brokerage/market/products" ||
    /^\/api\/v3\/brokerage\/market\/products\/[^/]+(\/candles)?$/.test(path)
  );
}

/** `{"start":"<unix s>","low","high","open","close","volume"(base)}`, all strings, prices without trailing zeros. */
function writeCandle(w: AsciiWriter, s: SimSeries, row: SeriesRow): void {
  const d = s.decimals;
  const c = row.candle;
  const price = (name: string, ticks: number) => {
    w.text(`,"${name}":"`);
    w.trimmed(ticks, d);
    w.text('"');
  };
  w.text('{"start":"');
  w.int(row.openTimeMs / 1000);
  w.text('"');
  price("low", c?.low ?? row.previousClose);
  price("high", c?.high ?? row.previousClose);
  price("open", c?.open ?? row.previousClose);
  price("close", c?.close ?? row.previousClose);
  w.text(',"volume":"');
  w.trimmed(c?.volumeUnits ?? 0, 4);
  w.text('"}');
}

/** Ten significant digits without trailing zeros (rates are between 1e-5 and 1e5: no exponent). */
function significant(value: number): string {
  const text = value.toPrecision(10);
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}

/** Every coin Coinbase lists, plus the quote stablecoins (USDC, USDT) as currencies. */
function coinbaseCoins(): string[] {
  return [...new Set([...SIM_LISTINGS.coinbase.map((m) => m.coin), "USDC", "USDT"])];
}

function cryptoCurrencies() {
  return coinbaseCoins().map((code, i) => {
    const hex = [0, 1, 2, 3].map((n) => hashString(`coinbase|${code}|${n}`).toString(16).padStart(8, "0")).join("");
    return {
      asset_id: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`,
      code,
      name: simCoinByTicker(code)?.name ?? code,
      color: `#${hex.slice(0, 6).toUpperCase()}`,
      sort_index: String(100 + i),
      exponent: "8",
      type: "crypto",
      address_regex: "^[a-zA-Z0-9]{26,64}$",
    };
  });
}

/** One product as `/market/products` lists it: USDC books are aliases of the USD ones. */
function productInfo(m: SimMarket, s: SimSeries, nowMs: number) {
  const d = s.decimals;
  const tick = trimmed(1, d);
  const hourOpen = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
  const current = partialTicks(s, Math.floor(nowMs / 60_000) * 60_000, nowMs)?.close ?? previousCloseTicks(s, nowMs);
  const dayAgo = previousCloseTicks(s, nowMs - DAY_MS);
  const day = rangeTicks(s, hourOpen - DAY_MS, hourOpen);
  const usdBook = m.quote === "USDC" ? `${m.coin}-USD` : undefined;
  const aliases = m.quote === "USD" && SIM_LISTINGS.coinbase.some((o) => o.symbol === `${m.coin}-USDC`) ? [`${m.coin}-USDC`] : [];
  const change = current !== null && dayAgo !== null && dayAgo > 0 ? (((current - dayAgo) / dayAgo) * 100).toFixed(8) : "0";
  return {
    product_id: m.symbol,
    price: current === null ? "" : trimmed(current, d),
    price_percentage_change_24h: change,
    volume_24h: day === null ? "0" : fixed(day.volumeUnits, 4, 8),
    volume_percentage_change_24h: "0",
    base_increment: trimmed(1, 4),
    quote_increment: tick,
    quote_min_size: "1",
    quote_max_size: "10000000",
    base_min_size: trimmed(1, 4),
    base_max_size: String(Math.round(10_000_000 / (simCoinByTicker(m.coin)?.priceUsd ?? 1))),
    base_name: simCoinByTicker(m.coin)?.name ?? m.coin,
    quote_name: m.quote === "USD" ? "US Dollar" : (simCoinByTicker(m.quote)?.name ?? m.quote),
    watched: false,
    is_disabled: !m.tradable,
    new: false,
    status: m.status,
    cancel_only: false,
    limit_only: false,
    post_only: false,
    trading_disabled: !m.tradable,
    auction_mode: false,
    product_type: "SPOT",
    quote_currency_id: m.quoteAsset,
    base_currency_id: m.baseAsset,
    fcm_trading_session_details: null,
    mid_market_price: "",
    alias: usdBook ?? "",
    alias_to: aliases,
    base_display_symbol: m.baseAsset,
    quote_display_symbol: m.quoteAsset,
    view_only: false,
    price_increment: tick,
    display_name: m.symbol,
    product_venue: "CBE",
    approximate_quote_24h_volume: day === null ? "0" : day.quoteVolume.toFixed(2),
  };
}

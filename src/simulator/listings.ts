/**
 * The exchanges the simulator serves: the four native ones and three served for the ccxt path.
 * Every per-exchange table of the simulator is a `Record` over these, so the compiler asks for each.
 */
export const SIM_EXCHANGE_IDS = ["binance", "kraken", "kucoin", "poloniex", "okx", "coinbase", "bybit"] as const;
export type SimExchangeId = (typeof SIM_EXCHANGE_IDS)[number];

/**
 * Which markets each simulated exchange lists, named the way that exchange names them. Realistic
 * subsets: Binance lists the most (against USDT), Kraken fewer (against USD, some USDT, with its
 * XBT/XDG names and X/Z-prefixed legacy keys), KuCoin many (`BTC-USDT`), Poloniex fewer (`BTC_USDT`).
 * A few markets are listed but not tradable. SafeMoon (SFM) is listed nowhere.
 */
export interface SimMarket {
  exchange: SimExchangeId;
  /** The exchange's symbol for requests: `BTCUSDT`, `XXBTZUSD`, `BTC-USDT`, `BTC_USDT`. */
  symbol: string;
  /** Common ticker of the coin (`BTC`, never `XBT`). */
  coin: string;
  /** Common ticker of the quote currency (`USDT`, `USD`, `USDC`). */
  quote: string;
  /** The exchange's own asset codes: Kraken `XXBT`/`ZUSD`; elsewhere the tickers. */
  baseAsset: string;
  quoteAsset: string;
  /** Kraken only: `XBTUSD` and `XBT/USD`. */
  altname?: string;
  wsname?: string;
  /** The listing's status as the exchange spells it (`TRADING`, `online`, `NORMAL`, `live`, `Trading`; KuCoin: `true`/`false`). */
  status: string;
  tradable: boolean;
}

const BINANCE_USDT = words(`BTC ETH BNB SOL USDC XRP DOGE TON ADA AVAX SHIB TRX WBTC DOT LINK BCH NEAR UNI LTC ICP
  SUI PEPE APT ETC XMR RENDER XLM HBAR TAO ARB FIL ATOM STX IMX FET VET POL FDUSD INJ OP GRT BONK TIA WIF MKR
  THETA SEI ONDO AR LDO FLOKI ALGO WLD JUP QNT FLOW BSV GALA EGLD SAND PYTH NEO XTZ EOS AXS MANA HNT IOTA CHZ APE
  XEC CRV CAKE ZEC KAVA MINA CFX GNO 1INCH COMP DASH SNX TWT NEXO BAT ZIL ENJ RVN ROSE`);
const BINANCE_USDC = words("BTC ETH SOL DOGE");
const BINANCE_HALTED = words("XMR BSV");

const KRAKEN_USD = words(`BTC ETH USDT XRP SOL USDC DOGE TRX ADA LINK AVAX XLM SUI SHIB BCH LTC DOT UNI DAI XMR
  PEPE NEAR APT ICP ETC TAO RENDER POL ARB FIL ATOM ALGO MNT FET STX INJ TIA GRT BONK SEI OP MKR LDO FLOKI JUP
  QNT SAND FLOW GALA EOS XTZ MANA AXS NEO EGLD PYTH CRV CHZ APE WIF ZEC KAVA MINA COMP GNO DASH SNX BAT ENJ`);
const KRAKEN_USDT = words("BTC ETH SOL DOGE XRP USDC");
const KRAKEN_STATUS: Record<string, string> = { EOS: "cancel_only", BAT: "reduce_only" };
/** Kraken's asset codes and display names for coins whose names differ from the common ticker. */
const KRAKEN_ASSET: Record<string, { code: string; alt: string }> = {
  BTC: { code: "XXBT", alt: "XBT" },
  DOGE: { code: "XXDG", alt: "XDG" },
  ETH: { code: "XETH", alt: "ETH" },
  XRP: { code: "XXRP", alt: "XRP" },
  LTC: { code: "XLTC", alt: "LTC" },
  XLM: { code: "XXLM", alt: "XLM" },
  XMR: { code: "XXMR", alt: "XMR" },
  ETC: { code: "XETC", alt: "ETC" },
  ZEC: { code: "XZEC", alt: "ZEC" },
  USD: { code: "ZUSD", alt: "USD" },
};
/** Old USD pairs whose key joins the prefixed asset codes (`XXBTZUSD`); newer keys equal the altname. */
const KRAKEN_LEGACY_KEYS = words("BTC ETH XRP LTC XLM XMR ETC ZEC USDT");

const KUCOIN_USDT = words(`BTC ETH BNB SOL USDC XRP DOGE TON ADA AVAX SHIB TRX WBTC DOT LINK BCH NEAR UNI LTC ICP
  SUI PEPE APT ETC KAS XMR RENDER XLM HBAR TAO ARB FIL ATOM MNT STX IMX FET VET POL INJ OP GRT BONK TIA WIF MKR
  THETA SEI ONDO AR LDO FLOKI ALGO WLD JUP QNT FLOW BSV GALA EGLD SAND PYTH KCS NEO XTZ EOS AXS MANA HNT IOTA CHZ
  APE XEC CRV CAKE ZEC KAVA MINA CFX 1INCH COMP DASH SNX TWT NEXO BAT ZIL ENJ RVN ROSE`);
const KUCOIN_USDC = words("BTC ETH");
const KUCOIN_DISABLED = words("XMR BSV");

const POLONIEX_USDT = words(`BTC ETH XRP SOL USDC DOGE TRX ADA LINK AVAX XLM SHIB BCH LTC DOT UNI XMR PEPE NEAR APT
  ETC ARB FIL ATOM ALGO OP NEO EOS ZEC DASH BAT APE SAND MANA AXS CRV SNX COMP ENJ`);
const POLONIEX_STATE: Record<string, string> = { DASH: "PAUSE", ENJ: "OFFLINE" };

const OKX_USDT = words(`BTC ETH SOL XRP DOGE TON ADA AVAX SHIB TRX DOT LINK BCH NEAR UNI LTC ICP SUI PEPE APT ETC
  FIL ATOM OP ARB TIA INJ GRT LDO CRV NEO`);
const OKX_USDC = words("BTC ETH SOL");
const OKX_SUSPENDED = words("NEO");

const COINBASE_USD = words(`BTC ETH SOL XRP DOGE ADA AVAX SHIB DOT LINK BCH NEAR UNI LTC ICP APT ETC FIL ATOM OP ARB
  GRT LDO CRV USDT XLM ALGO`);
const COINBASE_USDC = words("BTC ETH SOL");
const COINBASE_DISABLED = words("XLM");

const BYBIT_USDT = words(`BTC ETH SOL XRP DOGE TON ADA AVAX SHIB TRX DOT LINK BCH NEAR UNI LTC ICP SUI PEPE APT
  ETC FIL ATOM OP ARB TIA INJ MNT GRT LDO NEO`);
const BYBIT_USDC = words("BTC ETH");
const BYBIT_SUSPENDED = words("NEO");

function words(text: string): string[] {
  return text.split(/\s+/).filter((w) => w.length > 0);
}

function binanceMarket(coin: string, quote: string): SimMarket {
  const status = BINANCE_HALTED.includes(coin) ? "BREAK" : "TRADING";
  return { exchange: "binance", symbol: coin + quote, coin, quote, baseAsset: coin, quoteAsset: quote, status, tradable: status === "TRADING" };
}

function binanceMarkets(): SimMarket[] {
  return [...BINANCE_USDT.map((c) => binanceMarket(c, "USDT")), ...BINANCE_USDC.map((c) => binanceMarket(c, "USDC"))];
}

function krakenAsset(ticker: string): { code: string; alt: string } {
  return KRAKEN_ASSET[ticker] ?? { code: ticker, alt: ticker };
}

function krakenMarket(coin: string, quote: string): SimMarket {
  const base = krakenAsset(coin);
  const q = krakenAsset(quote);
  const altname = base.alt + q.alt;
  const symbol = quote === "USD" && KRAKEN_LEGACY_KEYS.includes(coin) ? base.code + q.code : altname;
  const status = KRAKEN_STATUS[coin] ?? "online";
  return {
    exchange: "kraken",
    symbol,
    coin,
    quote,
    baseAsset: base.code,
    quoteAsset: q.code,
    altname,
    wsname: `${base.alt}/${q.alt}`,
    status,
    tradable: status === "online",
  };
}

function krakenMarkets(): SimMarket[] {
  return [...KRAKEN_USD.map((c) => krakenMarket(c, "USD")), ...KRAKEN_USDT.map((c) => krakenMarket(c, "USDT"))];
}

function kucoinMarket(coin: string, quote: string): SimMarket {
  const tradable = !KUCOIN_DISABLED.includes(coin);
  return { exchange: "kucoin", symbol: `${coin}-${quote}`, coin, quote, baseAsset: coin, quoteAsset: quote, status: String(tradable), tradable };
}

function kucoinMarkets(): SimMarket[] {
  return [...KUCOIN_USDT.map((c) => kucoinMarket(c, "USDT")), ...KUCOIN_USDC.map((c) => kucoinMarket(c, "USDC"))];
}

function poloniexMarket(coin: string, quote: string): SimMarket {
  const status = POLONIEX_STATE[coin] ?? "NORMAL";
  return { exchange: "poloniex", symbol: `${coin}_${quote}`, coin, quote, baseAsset: coin, quoteAsset: quote, status, tradable: status === "NORMAL" };
}

function poloniexMarkets(): SimMarket[] {
  return POLONIEX_USDT.map((coin) => poloniexMarket(coin, "USDT"));
}

/**
 * The four exchanges the service reads natively, and how each names a coin's market against a quote
 * (with the statuses of the tables above): the synthetic extra coins are listed through these.
 */
export const SIM_NATIVE_MARKETS = {
  binance: binanceMarket,
  kraken: krakenMarket,
  kucoin: kucoinMarket,
  poloniex: poloniexMarket,
} satisfies Partial<Record<SimExchangeId, (coin: string, quote: string) => SimMarket>>;
export type SimNativeExchangeId = keyof typeof SIM_NATIVE_MARKETS;

function okxMarkets(): SimMarket[] {
  const market = (coin: string, quote: string): SimMarket => {
    const status = OKX_SUSPENDED.includes(coin) ? "suspend" : "live";
    return { exchange: "okx", symbol: `${coin}-${quote}`, coin, quote, baseAsset: coin, quoteAsset: quote, status, tradable: status === "live" };
  };
  return [...OKX_USDT.map((c) => market(c, "USDT")), ...OKX_USDC.map((c) => market(c, "USDC"))];
}

function coinbaseMarkets(): SimMarket[] {
  const market = (coin: string, quote: string): SimMarket => {
    const status = COINBASE_DISABLED.includes(coin) ? "STATUS_DISABLED" : "online";
    return { exchange: "coinbase", symbol: `${coin}-${quote}`, coin, quote, baseAsset: coin, quoteAsset: quote, status, tradable: status === "online" };
  };
  return [...COINBASE_USD.map((c) => market(c, "USD")), ...COINBASE_USDC.map((c) => market(c, "USDC"))];
}

function bybitMarkets(): SimMarket[] {
  const market = (coin: string, quote: string): SimMarket => {
    const status = BYBIT_SUSPENDED.includes(coin) ? "Suspending" : "Trading";
    return { exchange: "bybit", symbol: coin + quote, coin, quote, baseAsset: coin, quoteAsset: quote, status, tradable: status === "Trading" };
  };
  return [...BYBIT_USDT.map((c) => market(c, "USDT")), ...BYBIT_USDC.map((c) => market(c, "USDC"))];
}

/** Every market each exchange lists, tradable or not, in listing order. */
export const SIM_LISTINGS: Readonly<Record<SimExchangeId, readonly SimMarket[]>> = {
  binance: binanceMarkets(),
  kraken: krakenMarkets(),
  kucoin: kucoinMarkets(),
  poloniex: poloniexMarkets(),
  okx: okxMarkets(),
  coinbase: coinbaseMarkets(),
  bybit: bybitMarkets(),
};

const LOOKUP = new Map<string, SimMarket>();
for (const markets of Object.values(SIM_LISTINGS)) {
  for (const m of markets) {
    LOOKUP.set(`${m.exchange}|${m.symbol}`, m);
    if (m.altname !== undefined) LOOKUP.set(`${m.exchange}|${m.altname}`, m);
  }
}

/** The market an exchange symbol names (Kraken: its key or altname), whether or not it is tradable. */
export function findSimMarket(exchange: string, symbol: string): SimMarket | undefined {
  return LOOKUP.get(`${exchange}|${symbol}`);
}

/** Common tickers of the coins an exchange lists with at least one tradable market. */
export function simListedCoins(exchange: string): string[] {
  return [
    ...new Set(
      simListing(exchange)
        .filter((m) => m.tradable)
        .map((m) => m.coin),
    ),
  ];
}

/** Whether an exchange lists the coin at all (any market, tradable or not): it then has candles. */
export function isSimListed(exchange: string, coin: string): boolean {
  return simListing(exchange).some((m) => m.coin === coin);
}

/** The markets of a simulated exchange, none for an id the simulator does not serve. */
export function simListing(exchange: string): readonly SimMarket[] {
  return (SIM_LISTINGS as Readonly<Record<string, readonly SimMarket[] | undefined>>)[exchange] ?? [];
}

/** The candlestick chart with volume, drawn by TradingView's lightweight-charts into a box the page reserves. */
import { CandlestickSeries, ColorType, createChart, HistogramSeries, type IChartApi, type ISeriesApi, type UTCTimestamp } from "lightweight-charts";
import type { Candle } from "./api.ts";
import { page, type PageElement } from "./dom.ts";
import { pricePrecision } from "./format.ts";

/** What the chart holds, read back from the library (tests compare it with /api/candles). */
export interface DrawnCandles {
  candles: { time: number; open: number; high: number; low: number; close: number }[];
  volumes: { time: number; value: number }[];
}

export interface CandleChart {
  show(candles: readonly Candle[]): void;
  drawn(): DrawnCandles;
}

/** The page's colours, from its CSS custom properties (light or dark scheme). */
function cssColor(name: string, fallback: string): string {
  return page.window().getComputedStyle(page.document().documentElement).getPropertyValue(name).trim() || fallback;
}

export function createCandleChart(box: PageElement): CandleChart {
  const up = cssColor("--up", "#0f7b4d");
  const down = cssColor("--down", "#c4302b");
  // The library's typings name the DOM's HTMLElement, which this program does not load (see dom.ts).
  const chart: IChartApi = createChart(box as unknown as Parameters<typeof createChart>[0], {
    autoSize: true,
    layout: {
      background: { type: ColorType.Solid, color: cssColor("--bg", "#ffffff") },
      textColor: cssColor("--fg", "#1b1f24"),
      fontFamily: page.window().getComputedStyle(page.document().body).fontFamily,
      // The TradingView link and notice are in the page's footer: the logo would add a stylesheet and a tracking link.
      attributionLogo: false,
    },
    grid: { vertLines: { color: cssColor("--grid", "#eaeef2") }, horzLines: { color: cssColor("--grid", "#eaeef2") } },
    rightPriceScale: { borderColor: cssColor("--line", "#d0d7de") },
    // maxBarSpacing: a handful of candles stay candle-sized rather than filling the box.
    timeScale: { borderColor: cssColor("--line", "#d0d7de"), timeVisible: true, secondsVisible: false, maxBarSpacing: 24 },
  });
  const candleSeries: ISeriesApi<"Candlestick"> = chart.addSeries(CandlestickSeries, {
    upColor: up,
    downColor: down,
    borderUpColor: up,
    borderDownColor: down,
    wickUpColor: up,
    wickDownColor: down,
  });
  candleSeries.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.28 } });
  const volumeSeries: ISeriesApi<"Histogram"> = chart.addSeries(HistogramSeries, {
    priceFormat: { type: "volume" },
    priceScaleId: "volume",
    lastValueVisible: false,
    priceLineVisible: false,
  });
  volumeSeries.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
  const upVolume = `${up}88`;
  const downVolume = `${down}88`;

  return {
    show(candles) {
      const precision = pricePrecision(candles.map((c) => c.close));
      candleSeries.applyOptions({ priceFormat: { type: "price", precision, minMove: 10 ** -precision } });
      const time = (c: Candle) => (c.timeMs / 1000) as UTCTimestamp;
      candleSeries.setData(candles.map((c) => ({ time: time(c), open: c.open, high: c.high, low: c.low, close: c.close })));
      volumeSeries.setData(candles.map((c) => ({ time: time(c), value: c.volume, color: c.close >= c.open ? upVolume : downVolume })));
      chart.timeScale().fitContent();
    },
    drawn() {
      return {
        candles: candleSeries.data().map((d) => {
          const c = d as { time: number; open: number; high: number; low: number; close: number };
          return { time: c.time, open: c.open, high: c.high, low: c.low, close: c.close };
        }),
        volumes: volumeSeries.data().map((d) => {
          const v = d as { time: number; value: number };
          return { time: v.time, value: v.value };
        }),
      };
    },
  };
}

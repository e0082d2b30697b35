/** Prometheus counters, gauges and histograms, kept in memory and rendered as text format 0.0.4. */
export type Labels = Record<string, string>;

type MetricType = "counter" | "gauge" | "histogram";

interface Series {
  labels: Labels;
  /** Counter or gauge value; a histogram's sum. */
  value: number;
  /** Histogram only: observations at or below each of the family's bounds (cumulative), then the count. */
  counts?: number[];
}

interface Family {
  type: MetricType;
  help: string;
  /** Histogram bucket upper bounds, ascending. */
  buckets?: readonly number[];
  values: Map<string, Series>;
}

export interface Metrics {
  inc(name: string, labels?: Labels, by?: number): void;
  set(name: string, labels: Labels, value: number): void;
  /** Records one observation of a histogram. */
  observe(name: string, labels: Labels, value: number): void;
  /** A counter's or gauge's value; a histogram's observation count. */
  get(name: string, labels?: Labels): number;
  render(): string;
}

/** Bounds of the save-delay histogram, in seconds: fine around one second and around the default settle of 5 s. */
export const SAVE_DELAY_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 5.5, 6, 6.5, 7, 8, 10, 15, 30, 60, 120, 300] as const;

/** Every metric the service exports, with its help text: one list, so /metrics is complete from the start. */
export const METRIC_HELP: Record<string, { type: MetricType; help: string; buckets?: readonly number[] }> = {
  cryptointellect_cycles_total: { type: "counter", help: "Collection cycles run, by outcome" },
  cryptointellect_requests_total: { type: "counter", help: "HTTP requests sent to exchanges, by exchange and status" },
  cryptointellect_retries_total: { type: "counter", help: "Requests retried after a failure, by exchange and reason" },
  cryptointellect_rate_limited_total: { type: "counter", help: "Rate-limit refusals received (429 or equivalent), by exchange" },
  cryptointellect_bans_total: { type: "counter", help: "IP bans received (Binance 418), by exchange" },
  cryptointellect_banned: { type: "gauge", help: "1 while an exchange has banned us, by exchange" },
  cryptointellect_rows_written_total: { type: "counter", help: "Candles written, by sink and exchange" },
  cryptointellect_filled_buckets_total: { type: "counter", help: "Buckets fed forward (no trades reported), by exchange" },
  cryptointellect_rejected_candles_total: { type: "counter", help: "Candles that failed quality checks and were not saved, by exchange" },
  cryptointellect_failed_ranges_total: { type: "counter", help: "Series ranges whose fetch failed (left missing, never fabricated), by exchange" },
  cryptointellect_listing_failures_total: {
    type: "counter",
    help: "Market listing loads that failed, by exchange (with no listing to go on, every series of the exchange fails that cycle)",
  },
  cryptointellect_conflicting_candles_total: {
    type: "counter",
    help: "Open times an exchange answered with two different candles in one answer (the window is fetched again), by exchange",
  },
  cryptointellect_sink_errors_total: { type: "counter", help: "Sink write failures, by sink" },
  cryptointellect_lag_buckets: { type: "gauge", help: "Buckets between the newest closed bucket and the oldest series' last saved bucket, by exchange" },
  cryptointellect_last_success_timestamp_seconds: { type: "gauge", help: "Unix time of the last successful fetch, by exchange" },
  cryptointellect_stream_connections: { type: "gauge", help: "Open WebSocket stream connections (live_source websocket), by exchange" },
  cryptointellect_stream_reconnects_total: { type: "counter", help: "Stream connections reopened after a drop, stall or malformed message, by exchange" },
  cryptointellect_stream_messages_total: { type: "counter", help: "Stream messages received, malformed ones included, by exchange" },
  cryptointellect_stream_malformed_total: { type: "counter", help: "Stream messages that could not be parsed (the connection is reopened), by exchange" },
  cryptointellect_stream_disagreements_total: { type: "counter", help: "Buckets where the stream and REST disagreed (REST's is saved), by exchange" },
  cryptointellect_stream_fallbacks_total: { type: "counter", help: "Series buckets the stream left incomplete and REST fetched, by exchange" },
  cryptointellect_save_delay_seconds: {
    type: "histogram",
    help: "Seconds from a live bucket's end to its row being durable (CSV fsynced, database committed), by exchange, sink and source (stream or rest)",
    buckets: SAVE_DELAY_BUCKETS,
  },
};

export function createMetrics(): Metrics {
  const families = new Map<string, Family>();
  for (const [name, spec] of Object.entries(METRIC_HELP)) families.set(name, { ...spec, values: new Map() });
  const family = (name: string, type: MetricType) => {
    let f = families.get(name);
    if (!f) {
      f = { type, help: name, values: new Map() };
      families.set(name, f);
    }
    return f;
  };
  const byName = ([a]: [string, string], [b]: [string, string]) => (a < b ? -1 : a > b ? 1 : 0);
  const key = (labels: Labels) => JSON.stringify(Object.entries(labels).sort(byName));
  return {
    inc(name, labels = {}, by = 1) {
      const f = family(name, "counter");
      const k = key(labels);
      const entry = f.values.get(k);
      if (entry) entry.value += by;
      else f.values.set(k, { labels, value: by });
    },
    set(name, labels, value) {
      family(name, "gauge").values.set(key(labels), { labels, value });
    },
    observe(name, labels, value) {
      const f = family(name, "histogram");
      const bounds = (f.buckets ??= SAVE_DELAY_BUCKETS);
      const k = key(labels);
      let entry = f.values.get(k);
      if (!entry) {
        entry = { labels, value: 0, counts: new Array<number>(bounds.length + 1).fill(0) };
        f.values.set(k, entry);
      }
      entry.value += value;
      const counts = entry.counts!;
      for (let i = 0; i < bounds.length; i++) if (value <= bounds[i]!) counts[i]!++;
      counts[bounds.length]!++;
    },
    get(name, labels = {}) {
      const entry = families.get(name)?.values.get(key(labels));
      return entry?.counts ? entry.counts.at(-1)! : (entry?.value ?? 0);
    },
    render() {
      const lines: string[] = [];
      for (const [name, f] of families) {
        lines.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
        for (const { labels, value, counts } of f.values.values()) {
          const pairs = Object.entries(labels)
            .sort(byName)
            .map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`);
          const text = pairs.join(",");
          if (!counts) {
            lines.push(`${name}${text ? `{${text}}` : ""} ${value}`);
            continue;
          }
          const bounds = f.buckets ?? [];
          const withLe = (le: string) => `{${[...pairs, `le="${le}"`].join(",")}}`;
          for (let i = 0; i < bounds.length; i++) lines.push(`${name}_bucket${withLe(String(bounds[i]))} ${counts[i]}`);
          lines.push(`${name}_bucket${withLe("+Inf")} ${counts[bounds.length]}`);
          lines.push(`${name}_sum${text ? `{${text}}` : ""} ${value}`, `${name}_count${text ? `{${text}}` : ""} ${counts[bounds.length]}`);
        }
      }
      return lines.join("\n") + "\n";
    },
  };
}

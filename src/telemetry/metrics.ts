/** Prometheus counters and gauges, kept in memory and rendered as text format 0.0.4. */
export type Labels = Record<string, string>;

interface Family {
  type: "counter" | "gauge";
  help: string;
  values: Map<string, { labels: Labels; value: number }>;
}

export interface Metrics {
  inc(name: string, labels?: Labels, by?: number): void;
  set(name: string, labels: Labels, value: number): void;
  get(name: string, labels?: Labels): number;
  render(): string;
}

/** Every metric the service exports, with its help text: one list, so /metrics is complete from the start. */
export const METRIC_HELP: Record<string, { type: "counter" | "gauge"; help: string }> = {
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
};

export function createMetrics(): Metrics {
  const families = new Map<string, Family>();
  for (const [name, spec] of Object.entries(METRIC_HELP)) families.set(name, { ...spec, values: new Map() });
  const family = (name: string, type: "counter" | "gauge") => {
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
    get(name, labels = {}) {
      return families.get(name)?.values.get(key(labels))?.value ?? 0;
    },
    render() {
      const lines: string[] = [];
      for (const [name, f] of families) {
        lines.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
        for (const { labels, value } of f.values.values()) {
          const text = Object.entries(labels)
            .sort(byName)
            .map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
            .join(",");
          lines.push(`${name}${text ? `{${text}}` : ""} ${value}`);
        }
      }
      return lines.join("\n") + "\n";
    },
  };
}

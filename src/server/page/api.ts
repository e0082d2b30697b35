/**
 * What the page reads from the service: /api/series, /api/status and /api/candles, parsed by hand
 * (a schema library would triple the page's script) and leniently, so a new field is not an outage.
 */

/** One row of /api/series. `first`/`last` are bucket ends (the TimeStamp column). */
export interface SeriesInfo {
  exchange: string;
  exchangeName: string;
  coin: string;
  symbol: string;
  quote: string;
  intervalMinutes: number;
  first: string | null;
  last: string | null;
  rows: number;
  filledRows: number;
  missingBuckets: number;
  lastFetch: string | null;
  lastError: string | null;
}

export interface ExchangeStatus {
  lastSuccess: string | null;
  lagBuckets: number;
  errors: number;
  bannedUntil: string | null;
  lastError: string | null;
}

export interface SinkStatus {
  lastSuccess: string | null;
  consecutiveFailures: number;
  errors: number;
  lastError: string | null;
}

/** An exchange's last cycle, from /api/status. */
export interface LastCycle {
  seriesTotal: number;
  seriesOk: number;
  seriesFailed: number;
  banned: boolean;
  error: string | null;
}

/** The parts of /api/status the page shows (the /health snapshot, each exchange's last cycle, the settle delay). */
export interface ServiceStatus {
  status: string;
  reasons: string[];
  cycles: number;
  exchanges: Record<string, ExchangeStatus>;
  lastCycles: Record<string, LastCycle>;
  sinks: Record<string, SinkStatus>;
  settleSeconds: number | undefined;
  intervalMinutes: number | undefined;
}

/** What the chart draws: one candle, its time the end of its bucket. */
export interface Candle {
  timeMs: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** The candles query of one series and range; `to` undefined means up to the latest bucket. */
export interface CandlesQuery {
  exchange: string;
  coin: string;
  intervalMinutes: number;
  fromMs: number | undefined;
  toMs: number | undefined;
}

export interface CandlesPage {
  columns: string[];
  rows: unknown[][];
  next: string | null;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v)) ? Number(v) : 0);

export function parseSeries(body: unknown): SeriesInfo[] {
  const list = isObject(body) && Array.isArray(body.series) ? body.series : [];
  return list.filter(isObject).map((s) => ({
    exchange: str(s.exchange) ?? "",
    exchangeName: str(s.exchangeName) ?? str(s.exchange) ?? "",
    coin: str(s.coin) ?? "",
    symbol: str(s.symbol) ?? "",
    quote: str(s.quote) ?? "",
    intervalMinutes: num(s.intervalMinutes) || 1,
    first: str(s.first),
    last: str(s.last),
    rows: num(s.rows),
    filledRows: num(s.filledRows),
    missingBuckets: num(s.missingBuckets),
    lastFetch: str(s.lastFetch),
    lastError: str(s.lastError),
  }));
}

/** /api/status answers `{status: snapshot, exchanges: {id: {lastCycle}}, config}`; /health answers the snapshot alone. */
export function parseStatus(body: unknown): ServiceStatus {
  const root = isObject(body) ? body : {};
  const snapshot = isObject(root.status) ? root.status : root;
  const config = isObject(root.config) ? root.config : {};
  const record = <T>(v: unknown, map: (o: Json) => T): Record<string, T> =>
    Object.fromEntries(
      Object.entries(isObject(v) ? v : {})
        .filter((e): e is [string, Json] => isObject(e[1]))
        .map(([k, o]) => [k, map(o)]),
    );
  const settle = config.settleSeconds ?? config.settle_seconds;
  const interval = config.bucketIntervalMinutes ?? config.intervalMinutes;
  return {
    status: str(snapshot.status) ?? "unknown",
    reasons: Array.isArray(snapshot.reasons) ? snapshot.reasons.filter((r): r is string => typeof r === "string") : [],
    cycles: num(snapshot.cycles),
    exchanges: record(snapshot.exchanges, (o) => ({
      lastSuccess: str(o.lastSuccess),
      lagBuckets: num(o.lagBuckets),
      errors: num(o.errors),
      bannedUntil: str(o.bannedUntil),
      lastError: str(o.lastError),
    })),
    lastCycles: Object.fromEntries(
      Object.entries(record(root === snapshot ? {} : root.exchanges, (o) => o.lastCycle))
        .filter((e): e is [string, Json] => isObject(e[1]))
        .map(([id, c]) => [id, { seriesTotal: num(c.seriesTotal), seriesOk: num(c.seriesOk), seriesFailed: num(c.seriesFailed), banned: c.banned === true, error: str(c.error) }]),
    ),
    sinks: record(snapshot.sinks, (o) => ({
      lastSuccess: str(o.lastSuccess),
      consecutiveFailures: num(o.consecutiveFailures),
      errors: num(o.errors),
      lastError: str(o.lastError),
    })),
    settleSeconds: typeof settle === "number" ? settle : undefined,
    intervalMinutes: typeof interval === "number" ? interval : undefined,
  };
}

export function parseCandlesPage(body: unknown): CandlesPage {
  if (!isObject(body) || !Array.isArray(body.columns) || !Array.isArray(body.rows)) throw new Error("/api/candles answered without columns and rows");
  return { columns: body.columns.map(String), rows: body.rows.filter(Array.isArray), next: str(body.next) };
}

/** The rows as candles, found by column name (the columns of SPEC section 4). */
export function toCandles(columns: readonly string[], rows: readonly unknown[][]): Candle[] {
  const at = (name: string) => {
    const i = columns.indexOf(name);
    if (i < 0) throw new Error(`/api/candles answered without a ${name} column`);
    return i;
  };
  const [t, o, h, l, c, v] = [at("TimeStamp"), at("OpenPrice"), at("HighPrice"), at("LowPrice"), at("ClosePrice"), at("Volume")];
  return rows.map((r) => ({ timeMs: Date.parse(String(r[t])), open: num(r[o]), high: num(r[h]), low: num(r[l]), close: num(r[c]), volume: num(r[v]) }));
}

/** `2024-03-08T12:45:00Z`: whole seconds, as the API writes them. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The /api/candles URL of a query: JSON for the chart, or a download. */
export function candlesUrl(q: CandlesQuery, format: "json" | "csv" | "parquet", cursor?: string): string {
  const params = new URLSearchParams({ exchange: q.exchange, coin: q.coin, interval: `${q.intervalMinutes}m` });
  if (q.fromMs !== undefined) params.set("from", isoSeconds(q.fromMs));
  if (q.toMs !== undefined) params.set("to", isoSeconds(q.toMs));
  if (cursor !== undefined) params.set("cursor", cursor);
  params.set("format", format);
  return `/api/candles?${params}`;
}

/** A JSON answer; throws with the status when the service refused. Also gives the server's clock (Date header). */
export async function getJson(url: string, signal?: AbortSignal): Promise<{ body: unknown; serverNowMs: number | undefined }> {
  const res = await fetch(url, { headers: { accept: "application/json" }, signal, cache: "no-store" });
  const date = Date.parse(res.headers.get("date") ?? "");
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw new Error(`${url.split("?")[0]} answered ${res.status} without JSON`);
  }
  // /health answers 503 with its snapshot when the service is down: that is an answer, not a failure.
  if (!res.ok && !(res.status === 503 && isObject(body) && "status" in body)) {
    throw new Error(`${url.split("?")[0]}: ${res.status}${isObject(body) && typeof body.error === "string" ? ` ${body.error}` : ""}`);
  }
  return { body, serverNowMs: Number.isFinite(date) ? date : undefined };
}

/** Every page of a candles query, oldest first, up to `maxRows` (the chart stays responsive). */
export async function fetchAllCandles(q: CandlesQuery, maxRows: number, signal?: AbortSignal): Promise<{ columns: string[]; rows: unknown[][]; truncated: boolean }> {
  let columns: string[] = [];
  const rows: unknown[][] = [];
  let cursor: string | undefined;
  do {
    const page = parseCandlesPage((await getJson(candlesUrl(q, "json", cursor), signal)).body);
    columns = page.columns;
    rows.push(...page.rows);
    cursor = page.next ?? undefined;
  } while (cursor !== undefined && rows.length < maxRows);
  return { columns, rows, truncated: cursor !== undefined };
}

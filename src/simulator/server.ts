import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import { systemClock, type Clock } from "../clock.ts";
import { createBinanceService } from "./binance.ts";
import { createBybitService } from "./bybit.ts";
import { createCandleLog, type SimCandleRequest } from "./candle-log.ts";
import { createCoinbaseService } from "./coinbase.ts";
import { createCoingeckoService } from "./coingecko.ts";
import { faultsSchema, GARBAGE_BODY, planFaults, truncateBody, type FaultPlan, type Faults } from "./faults.ts";
import { createKrakenService } from "./kraken.ts";
import { createKucoinService } from "./kucoin.ts";
import { SIM_EXCHANGE_IDS, type SimExchangeId } from "./listings.ts";
import { createPrng } from "./noise.ts";
import { createOkxService } from "./okx.ts";
import { createPoloniexService } from "./poloniex.ts";
import { SIM_DEFAULT_SEED } from "./price-model.ts";
import type { SimReply, SimService, Tally } from "./reply.ts";
import type { StreamConn, StreamRoute, StreamStats } from "./ws/hub.ts";
import { createSimUniverse, type SimUniverse } from "./universe.ts";
import { createSimStreams, type SimStreams } from "./ws/streams.ts";

/**
 * The simulator as an HTTP handler: each service under its own path prefix (`/binance/api/v3/klines`),
 * faults applied before the service answers, counters per service, a log of candle requests, and
 * control routes under `/_sim`. Rate limits are kept per listening address, as an exchange keeps them
 * per client IP; market data and faults are shared. `startSimulator` serves it with Bun.serve on one
 * port of one or more loopback addresses.
 */
export type SimServiceId = SimExchangeId | "coingecko";
export const SIM_SERVICES: readonly SimServiceId[] = [...SIM_EXCHANGE_IDS, "coingecko"];

/** Each simulated exchange's service: one line an exchange (see docs/adding-an-exchange.md). */
const SIM_EXCHANGE_SERVICES = {
  binance: createBinanceService,
  kraken: createKrakenService,
  kucoin: createKucoinService,
  poloniex: createPoloniexService,
  okx: createOkxService,
  coinbase: createCoinbaseService,
  bybit: createBybitService,
} satisfies Record<SimExchangeId, (seed: number, universe: SimUniverse) => SimService>;

export type { Faults, SimCandleRequest };

export interface SimulatorOptions {
  /** The simulator's now (rate-limit windows, the candle in progress). Share a manual clock with the service in tests. */
  clock?: Clock;
  /** Seeds the market data and the fault PRNG. */
  seed?: number;
  faults?: Partial<Record<SimServiceId, Faults>>;
  /** Addresses listed in `stats().byAddress` before their first request (the ones served). */
  addresses?: readonly string[];
  /** How many of the newest candle requests `candleRequests()` keeps (default 20,000). */
  requestLogLimit?: number;
  /** Called with each candle request as it is answered (`simulate --request-log` appends it to a file). */
  onCandleRequest?: (entry: SimCandleRequest) => void;
  /**
   * Synthetic coins to add (0, the default, to 5000; see extra-coins.ts): `X0001`…, listed on the
   * four native exchanges and on CoinGecko after the real coins, for benchmarks at 1,000 series per
   * exchange. `GET /_sim/extra-coins` lists their tickers.
   */
  extraCoins?: number;
}

export interface SimCounters {
  requests: number;
  /** 429s, and Kraken's `EGeneral:Too many requests`. */
  rateLimited: number;
  /** Binance 418s. */
  banned: number;
  /** Every other error answer: 4xx/5xx, errors inside a 200 body, and injected faults. */
  errors: number;
}

/** Counters of each service, and their total. */
export type SimServiceStats = Record<SimServiceId, SimCounters> & { total: SimCounters };

/**
 * Counters over every address, the same `byAddress` (each listening address has its own rate limits),
 * and in `streams` the WebSocket streams' connections, messages and fault drops per exchange.
 */
export type SimStats = SimServiceStats & { byAddress: Record<string, SimServiceStats>; streams: StreamStats };

export interface Simulator {
  /** Answers a request that came in on `address` (default: the URL's host name); each address has its own rate limits. */
  fetch(request: Request, address?: string): Promise<Response>;
  stats(): SimStats;
  /**
   * The candle requests answered since the last reset, oldest first, from index `since` on (the
   * newest `requestLogLimit` are kept; indices keep counting).
   */
  candleRequests(since?: number): SimCandleRequest[];
  /** Replaces the faults of one service. */
  setFaults(service: SimServiceId, faults: Faults): void;
  /** Zeroes the counters, forgets rate-limit state, bans and candle requests, and restores the faults given at creation. */
  reset(): void;
  /** Lets go of requests held open by `timeoutRate` (they answer 504 to nobody). */
  releaseHanging(): void;
  /** The exchanges' WebSocket streams (served by `startSimulator`). */
  streams: SimStreams;
  /** The synthetic tickers listed (`extraCoins`), in rank order; also `GET /_sim/extra-coins`. */
  extraTickers: readonly string[];
}

/** Longest a `timeoutRate` request hangs when the client never aborts (keeps a forgotten test from leaking forever). */
const MAX_HANG_MS = 120_000;
const REQUEST_LOG_LIMIT = 20_000;

/** What one client address has: its own services (their rate-limit state) and counters. */
interface AddressState {
  services: Record<SimServiceId, SimService>;
  counters: Record<SimServiceId, SimCounters>;
}

export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const clock = options.clock ?? systemClock;
  const seed = options.seed ?? SIM_DEFAULT_SEED;
  const universe = createSimUniverse(options.extraCoins ?? 0);
  const initialFaults = () => perService((id) => ({ ...options.faults?.[id] }));
  const zeroCounters = () => perService(zero);
  const createPrngs = () => perService((_, i) => createPrng(seed * 7919 + i * 104729));
  let faults = initialFaults();
  let prngs = createPrngs();
  const addresses = new Map<string, AddressState>();
  const log = createCandleLog(options.requestLogLimit ?? REQUEST_LOG_LIMIT);
  const hanging = new Set<() => void>();
  const streams = createSimStreams({ clock, seed, universe, faultsOf: (id) => faults[id] });

  function at(address: string): AddressState {
    let state = addresses.get(address);
    if (!state) {
      state = { services: perService((id) => (id === "coingecko" ? createCoingeckoService(seed, universe) : SIM_EXCHANGE_SERVICES[id](seed, universe))), counters: zeroCounters() };
      addresses.set(address, state);
    }
    return state;
  }
  for (const address of options.addresses ?? []) at(address);

  function stats(): SimStats {
    const states = [...addresses.values()];
    const byAddress: Record<string, SimServiceStats> = {};
    for (const [address, state] of addresses) byAddress[address] = summed((id) => [state.counters[id]]);
    return { ...summed((id) => states.map((s) => s.counters[id])), byAddress, streams: streams.hub.stats() };
  }

  function setFaults(service: SimServiceId, next: Faults): void {
    faults[service] = { ...next };
  }

  function tally(counters: SimCounters, kind: Tally): void {
    if (kind === "rateLimited") counters.rateLimited++;
    else if (kind === "banned") counters.banned++;
    else if (kind === "error") counters.errors++;
  }

  /** Waits until the client gives up (or the simulator stops). */
  function hang(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        hanging.delete(done);
        resolve();
      };
      const timer = setTimeout(done, MAX_HANG_MS);
      timer.unref?.();
      if (signal.aborted) return done();
      signal.addEventListener("abort", done, { once: true });
      hanging.add(done);
    });
  }

  async function control(request: Request, url: URL): Promise<Response> {
    const path = url.pathname;
    if (path === "/_sim/stats" && request.method === "GET") return Response.json(stats());
    if (path === "/_sim/extra-coins" && request.method === "GET") return Response.json(universe.extraTickers);
    if (path === "/_sim/requests" && request.method === "GET") {
      const since = url.searchParams.get("since") ?? "0";
      if (!/^[0-9]{1,15}$/.test(since)) return Response.json({ error: "since must be a request index (a whole number)" }, { status: 400 });
      return Response.json(log.since(Number(since)));
    }
    if (path === "/_sim/reset" && request.method === "POST") {
      reset();
      return Response.json({ ok: true });
    }
    if (path === "/_sim/faults" && request.method === "POST") {
      let body: unknown;
      try {
        body = await request.json();
      } catch {
        return Response.json({ error: "body must be JSON: {exchange, faults}" }, { status: 400 });
      }
      const exchange = typeof body === "object" && body !== null && "exchange" in body ? body.exchange : undefined;
      const parsed = faultsSchema.safeParse(typeof body === "object" && body !== null && "faults" in body ? body.faults : undefined);
      if (typeof exchange !== "string" || !(SIM_SERVICES as readonly string[]).includes(exchange) || !parsed.success) {
        return Response.json({ error: `body must be {exchange: one of ${SIM_SERVICES.join(", ")}, faults: {...}}` }, { status: 400 });
      }
      setFaults(exchange as SimServiceId, parsed.data as Faults);
      return Response.json({ ok: true });
    }
    return Response.json({ error: "not found" }, { status: 404 });
  }

  /** The answer an injected fault gives instead of the service, or undefined when none applies. */
  async function injectFault(plan: FaultPlan, current: Faults, signal: AbortSignal): Promise<Response | undefined> {
    if (current.outage) return Response.json({ error: "service unavailable (simulated outage)" }, { status: 503 });
    switch (plan.action) {
      case "timeout":
        await hang(signal);
        return new Response("simulated timeout", { status: 504 });
      case "error":
        return new Response(`<html><body><h1>${plan.status}</h1>simulated server error</body></html>`, { status: plan.status, headers: { "content-type": "text/html" } });
      case "garbage":
        return new Response(GARBAGE_BODY, { status: 200, headers: { "content-type": "application/json" } });
      default:
        return undefined;
    }
  }

  async function handle(request: Request, address?: string): Promise<Response> {
    const url = new URL(request.url);
    const slash = url.pathname.indexOf("/", 1);
    const prefix = slash < 0 ? url.pathname.slice(1) : url.pathname.slice(1, slash);
    if (prefix === "_sim") return control(request, url);
    if (!(SIM_SERVICES as readonly string[]).includes(prefix)) return notFound();
    const id = prefix as SimServiceId;
    const from = address ?? url.hostname;
    const state = at(from);
    const path = slash < 0 ? "/" : url.pathname.slice(slash);
    const candle = state.services[id].candleQuery?.(path, url.searchParams);
    const response = await answer(request, url, id, path, state);
    if (candle && id !== "coingecko") {
      const entry: SimCandleRequest = { exchange: id, ...candle, address: from, status: response.status, atMs: Math.floor(clock.now()) };
      log.record(entry);
      options.onCandleRequest?.(entry);
    }
    return response;
  }

  /** One service's answer on one address: faults first, then the service with that address's rate limits. */
  async function answer(request: Request, url: URL, id: SimServiceId, path: string, state: AddressState): Promise<Response> {
    const counters = state.counters[id];
    const current = faults[id];
    const plan = planFaults(current, prngs[id]);
    counters.requests++;
    if (plan.latencyMs > 0) await systemClock.sleep(plan.latencyMs, request.signal);
    const injected = await injectFault(plan, current, request.signal);
    if (injected) {
      counters.errors++;
      return injected;
    }
    if (id === "kucoin" && request.method === "POST" && path === "/api/v1/bullet-public") return streams.kucoin.bullet(url, Math.floor(clock.now()));
    if (request.method !== "GET" && request.method !== "HEAD") {
      counters.errors++;
      return Response.json({ error: "method not allowed" }, { status: 405 });
    }
    const reply: SimReply | undefined = state.services[id].handle({
      method: request.method,
      path,
      query: url.searchParams,
      headers: request.headers,
      nowMs: Math.floor(clock.now()),
      faults: current,
    });
    if (!reply) {
      counters.errors++;
      return notFound();
    }
    let body = reply.body;
    if (plan.action === "truncate" && reply.status === 200) {
      body = truncateBody(body, plan.keep);
      counters.errors++;
    } else {
      tally(counters, reply.tally);
    }
    return new Response(body, { status: reply.status, headers: { "content-type": "application/json", ...reply.headers } });
  }

  function reset(): void {
    for (const state of addresses.values()) {
      for (const service of Object.values(state.services)) service.reset();
      state.counters = zeroCounters();
    }
    faults = initialFaults();
    prngs = createPrngs();
    log.clear();
    streams.hub.resetStats();
  }

  return {
    fetch: handle,
    stats,
    candleRequests: (since = 0) => log.since(since),
    setFaults,
    reset,
    releaseHanging: () => {
      for (const done of [...hanging]) done();
    },
    streams,
    extraTickers: universe.extraTickers,
  };
}

function perService<T>(make: (id: SimServiceId, index: number) => T): Record<SimServiceId, T> {
  return Object.fromEntries(SIM_SERVICES.map((id, i) => [id, make(id, i)])) as Record<SimServiceId, T>;
}

function zero(): SimCounters {
  return { requests: 0, rateLimited: 0, banned: 0, errors: 0 };
}

function addCounters(into: SimCounters, from: SimCounters): void {
  into.requests += from.requests;
  into.rateLimited += from.rateLimited;
  into.banned += from.banned;
  into.errors += from.errors;
}

/** Each service's counters summed over `countersOf(id)`, and the total. */
function summed(countersOf: (id: SimServiceId) => SimCounters[]): SimServiceStats {
  const total = zero();
  const out = { total } as SimServiceStats;
  for (const id of SIM_SERVICES) {
    const sum = zero();
    for (const c of countersOf(id)) addCounters(sum, c);
    out[id] = sum;
    addCounters(total, sum);
  }
  return out;
}

function notFound(): Response {
  return Response.json({ error: "not found" }, { status: 404 });
}

export interface RunningSimulator {
  /** The first address's root: `http://127.0.0.1:PORT`. */
  url: string;
  /** Each listening address's root, in the order given (`url` is the first). */
  urls: string[];
  port: number;
  /** Base URL of each service on the first address, ready for `api_base_urls`: `http://127.0.0.1:PORT/binance`. */
  baseUrls: Record<SimServiceId, string>;
  stop(): Promise<void>;
  stats(): SimStats;
  /** See `Simulator.candleRequests`; also `GET /_sim/requests?since=N`. */
  candleRequests(since?: number): SimCandleRequest[];
  setFaults(service: SimServiceId, faults: Faults): void;
  reset(): void;
  /** Pushes the stream updates due at the simulator clock's now (the poll timer also does). */
  tickStreams(): void;
  /** See `Simulator.extraTickers`. */
  extraTickers: readonly string[];
}

export interface StartSimulatorOptions extends SimulatorOptions {
  /** 0 (the default) picks a free one. */
  port?: number;
  /** The address to listen on (default 127.0.0.1). */
  hostname?: string;
  /**
   * Several addresses to listen on, one port for all (every 127.x.y.z is loopback on Linux): each
   * keeps its own rate limits, as an exchange does per client IP. Replaces `hostname`.
   */
  hostnames?: readonly string[];
  /** Real-time period of the stream poll; 0 turns it off (a test then calls `tickStreams()`). */
  streamPollMs?: number;
}

/** Real-time period of the stream poll that reads the simulator clock and pushes updates. */
const STREAM_POLL_MS = 50;
/** Tries at a free port shared by every address (the one the first address picked may be taken on another). */
const PORT_TRIES = 5;

/** Serves the simulator on a loopback port of each address, WebSocket streams included. */
export function startSimulator(options: StartSimulatorOptions = {}): RunningSimulator {
  const hostnames = options.hostnames ?? [options.hostname ?? "127.0.0.1"];
  if (hostnames.length === 0 || new Set(hostnames).size !== hostnames.length) {
    throw new Error(`startSimulator: hostnames must be distinct and at least one: ${hostnames.join(", ")}`);
  }
  const simulator = createSimulator({ ...options, addresses: hostnames });
  const hub = simulator.streams.hub;
  const conns = new WeakMap<ServerWebSocket<StreamRoute>, StreamConn>();
  const websocket: WebSocketHandler<StreamRoute> = {
    // Keepalive is the exchanges' own (driven by the simulator clock), not Bun's.
    sendPings: false,
    idleTimeout: 0,
    open: (ws) => {
      conns.set(ws, hub.open({ send: (t) => ws.send(t), close: (code, reason) => ws.close(code, reason), terminate: () => ws.terminate(), ping: () => ws.ping() }, ws.data));
    },
    message: (ws, message) => {
      const conn = conns.get(ws);
      if (conn) hub.message(conn, typeof message === "string" ? message : message.toString());
    },
    pong: (ws) => {
      const conn = conns.get(ws);
      if (conn) hub.pong(conn);
    },
    close: (ws) => {
      const conn = conns.get(ws);
      if (conn) hub.closed(conn);
    },
  };
  const serve = (hostname: string, port: number): Server<StreamRoute> =>
    Bun.serve({
      port,
      hostname,
      // A simulated timeout holds its request open until the client aborts.
      idleTimeout: 0,
      fetch: (request, srv) => {
        if (request.headers.get("upgrade")?.toLowerCase() === "websocket") {
          const route = hub.route(request);
          if (route instanceof Response) return route;
          if (route !== undefined) return srv.upgrade(request, { data: route }) ? undefined : new Response("upgrade failed", { status: 400 });
        }
        return simulator.fetch(request, hostname);
      },
      websocket,
    });
  const servers = listenAll(hostnames, options.port ?? 0, serve);
  const pollMs = options.streamPollMs ?? STREAM_POLL_MS;
  const poll = pollMs > 0 ? setInterval(() => hub.tick(), pollMs) : undefined;
  poll?.unref?.();
  const port = servers[0]!.port ?? options.port ?? 0;
  const urls = hostnames.map((hostname) => `http://${hostname === "0.0.0.0" || hostname === "::" ? "127.0.0.1" : hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`);
  return {
    url: urls[0]!,
    urls,
    port,
    baseUrls: serviceBaseUrls(urls[0]!),
    async stop() {
      if (poll) clearInterval(poll);
      simulator.releaseHanging();
      await Promise.all(servers.map((server) => server.stop(true)));
    },
    stats: simulator.stats,
    candleRequests: simulator.candleRequests,
    setFaults: simulator.setFaults,
    reset: simulator.reset,
    tickStreams: () => hub.tick(),
    extraTickers: simulator.extraTickers,
  };
}

/** Binds every address to one port; with port 0 the first picks it, and a pick taken on another address is tried again. */
function listenAll(hostnames: readonly string[], port: number, serve: (hostname: string, port: number) => Server<StreamRoute>): Server<StreamRoute>[] {
  for (let attempt = 1; ; attempt++) {
    const servers: Server<StreamRoute>[] = [];
    try {
      for (const hostname of hostnames) servers.push(serve(hostname, servers[0]?.port ?? port));
      return servers;
    } catch (error) {
      for (const server of servers) void server.stop(true);
      if (port !== 0 || servers.length === 0 || attempt >= PORT_TRIES) throw error;
    }
  }
}

/** Each service's base URL under a simulator root (`http://127.0.0.1:9700` → `…/binance`). */
export function serviceBaseUrls(rootUrl: string): Record<SimServiceId, string> {
  return perService((id) => `${rootUrl}/${id}`);
}

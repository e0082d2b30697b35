import type { Server, ServerWebSocket } from "bun";
import { systemClock, type Clock } from "../clock.ts";
import { createBinanceService } from "./binance.ts";
import { createBybitService } from "./bybit.ts";
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
import { createSimStreams, type SimStreams } from "./ws/streams.ts";

/**
 * The simulator as an HTTP handler: each service under its own path prefix (`/binance/api/v3/klines`),
 * faults applied before the service answers, counters per service, and control routes under `/_sim`.
 * `startSimulator` serves it on a loopback port with Bun.serve.
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
} satisfies Record<SimExchangeId, (seed: number) => SimService>;

export type { Faults };

export interface SimulatorOptions {
  /** The simulator's now (rate-limit windows, the candle in progress). Share a manual clock with the service in tests. */
  clock?: Clock;
  /** Seeds the market data and the fault PRNG. */
  seed?: number;
  faults?: Partial<Record<SimServiceId, Faults>>;
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

/** `streams`: the WebSocket streams' connections, messages and fault drops per exchange. */
export type SimStats = Record<SimServiceId, SimCounters> & { total: SimCounters; streams: StreamStats };

export interface Simulator {
  fetch(request: Request): Promise<Response>;
  stats(): SimStats;
  /** Replaces the faults of one service. */
  setFaults(service: SimServiceId, faults: Faults): void;
  /** Zeroes the counters, forgets rate-limit state and bans, and restores the faults given at creation. */
  reset(): void;
  /** Lets go of requests held open by `timeoutRate` (they answer 504 to nobody). */
  releaseHanging(): void;
  /** The exchanges' WebSocket streams (served by `startSimulator`). */
  streams: SimStreams;
}

/** Longest a `timeoutRate` request hangs when the client never aborts (keeps a forgotten test from leaking forever). */
const MAX_HANG_MS = 120_000;

export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const clock = options.clock ?? systemClock;
  const seed = options.seed ?? SIM_DEFAULT_SEED;
  const services = perService((id) => (id === "coingecko" ? createCoingeckoService(seed) : SIM_EXCHANGE_SERVICES[id](seed)));
  const initialFaults = () => perService((id) => ({ ...options.faults?.[id] }));
  const zeroCounters = () => perService(() => ({ requests: 0, rateLimited: 0, banned: 0, errors: 0 }));
  const createPrngs = () => perService((_, i) => createPrng(seed * 7919 + i * 104729));
  let faults = initialFaults();
  let counters = zeroCounters();
  let prngs = createPrngs();
  const hanging = new Set<() => void>();
  const streams = createSimStreams({ clock, seed, faultsOf: (id) => faults[id] });

  function stats(): SimStats {
    const total: SimCounters = { requests: 0, rateLimited: 0, banned: 0, errors: 0 };
    const out = { total, streams: streams.hub.stats() } as SimStats;
    for (const id of SIM_SERVICES) {
      const c = counters[id];
      out[id] = { ...c };
      total.requests += c.requests;
      total.rateLimited += c.rateLimited;
      total.banned += c.banned;
      total.errors += c.errors;
    }
    return out;
  }

  function setFaults(service: SimServiceId, next: Faults): void {
    faults[service] = { ...next };
  }

  function tally(service: SimServiceId, kind: Tally): void {
    if (kind === "rateLimited") counters[service].rateLimited++;
    else if (kind === "banned") counters[service].banned++;
    else if (kind === "error") counters[service].errors++;
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

  async function control(request: Request, path: string): Promise<Response> {
    if (path === "/_sim/stats" && request.method === "GET") return Response.json(stats());
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

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const slash = url.pathname.indexOf("/", 1);
    const prefix = slash < 0 ? url.pathname.slice(1) : url.pathname.slice(1, slash);
    if (prefix === "_sim") return control(request, url.pathname);
    if (!(SIM_SERVICES as readonly string[]).includes(prefix)) return notFound();
    const id = prefix as SimServiceId;
    const current = faults[id];
    const plan = planFaults(current, prngs[id]);
    counters[id].requests++;
    if (plan.latencyMs > 0) await systemClock.sleep(plan.latencyMs, request.signal);
    const injected = await injectFault(plan, current, request.signal);
    if (injected) {
      counters[id].errors++;
      return injected;
    }
    if (id === "kucoin" && request.method === "POST" && url.pathname === "/kucoin/api/v1/bullet-public") return streams.kucoin.bullet(url, Math.floor(clock.now()));
    if (request.method !== "GET" && request.method !== "HEAD") {
      counters[id].errors++;
      return Response.json({ error: "method not allowed" }, { status: 405 });
    }
    const reply: SimReply | undefined = services[id].handle({
      method: request.method,
      path: slash < 0 ? "/" : url.pathname.slice(slash),
      query: url.searchParams,
      headers: request.headers,
      nowMs: Math.floor(clock.now()),
      faults: current,
    });
    if (!reply) {
      counters[id].errors++;
      return notFound();
    }
    let body = reply.body;
    if (plan.action === "truncate" && reply.status === 200) {
      body = truncateBody(body, plan.keep);
      counters[id].errors++;
    } else {
      tally(id, reply.tally);
    }
    return new Response(body, { status: reply.status, headers: { "content-type": "application/json", ...reply.headers } });
  }

  function reset(): void {
    for (const service of Object.values(services)) service.reset();
    faults = initialFaults();
    counters = zeroCounters();
    prngs = createPrngs();
    streams.hub.resetStats();
  }

  return {
    fetch: handle,
    stats,
    setFaults,
    reset,
    releaseHanging: () => {
      for (const done of [...hanging]) done();
    },
    streams,
  };
}

function perService<T>(make: (id: SimServiceId, index: number) => T): Record<SimServiceId, T> {
  return Object.fromEntries(SIM_SERVICES.map((id, i) => [id, make(id, i)])) as Record<SimServiceId, T>;
}

function notFound(): Response {
  return Response.json({ error: "not found" }, { status: 404 });
}

export interface RunningSimulator {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** Base URL of each service, ready for `api_base_urls`: `http://127.0.0.1:PORT/binance`. */
  baseUrls: Record<SimServiceId, string>;
  stop(): Promise<void>;
  stats(): SimStats;
  setFaults(service: SimServiceId, faults: Faults): void;
  reset(): void;
  /** Pushes the stream updates due at the simulator clock's now (the poll timer also does). */
  tickStreams(): void;
}

/** Serves the simulator on a loopback port (0, the default, picks a free one). */
/** Real-time period of the stream poll that reads the simulator clock and pushes updates. */
const STREAM_POLL_MS = 50;

/**
 * Serves the simulator on a loopback port (0, the default, picks a free one), WebSocket streams
 * included. `streamPollMs: 0` turns the stream poll off: a test then calls `tickStreams()`.
 */
export function startSimulator(options: SimulatorOptions & { port?: number; hostname?: string; streamPollMs?: number } = {}): RunningSimulator {
  const simulator = createSimulator(options);
  const hub = simulator.streams.hub;
  const hostname = options.hostname ?? "127.0.0.1";
  const conns = new WeakMap<ServerWebSocket<StreamRoute>, StreamConn>();
  const server: Server<StreamRoute> = Bun.serve({
    port: options.port ?? 0,
    hostname,
    // A simulated timeout holds its request open until the client aborts.
    idleTimeout: 0,
    fetch: (request, srv) => {
      if (request.headers.get("upgrade")?.toLowerCase() === "websocket") {
        const route = hub.route(request);
        if (route instanceof Response) return route;
        if (route !== undefined) return srv.upgrade(request, { data: route }) ? undefined : new Response("upgrade failed", { status: 400 });
      }
      return simulator.fetch(request);
    },
    websocket: {
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
    },
  });
  const pollMs = options.streamPollMs ?? STREAM_POLL_MS;
  const poll = pollMs > 0 ? setInterval(() => hub.tick(), pollMs) : undefined;
  poll?.unref?.();
  const port = server.port ?? options.port ?? 0;
  const host = hostname === "0.0.0.0" || hostname === "::" ? "127.0.0.1" : hostname.includes(":") ? `[${hostname}]` : hostname;
  const url = `http://${host}:${port}`;
  const baseUrls = {} as Record<SimServiceId, string>;
  for (const id of SIM_SERVICES) baseUrls[id] = `${url}/${id}`;
  return {
    url,
    port,
    baseUrls,
    async stop() {
      if (poll) clearInterval(poll);
      simulator.releaseHanging();
      await server.stop(true);
    },
    stats: simulator.stats,
    setFaults: simulator.setFaults,
    reset: simulator.reset,
    tickStreams: () => hub.tick(),
  };
}

import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { COINGECKO_CALLS_PER_MINUTE } from "../../src/simulator/coingecko.ts";
import { SIM_COINS } from "../../src/simulator/market-data.ts";
import { startHarness } from "./harness.ts";

const NOW = Date.UTC(2024, 5, 1, 12, 30, 25);
const { sim, clock, get } = startHarness(NOW);
afterAll(() => sim.stop());
beforeEach(() => {
  sim.reset();
  clock.set(NOW);
});

describe("coingecko", () => {
  test("lists coins by market cap with CoinGecko's fields, 100 a page by default", async () => {
    const { status, body } = await get("/coingecko/api/v3/coins/markets?vs_currency=usd&order=market_cap_desc");
    expect(status).toBe(200);
    expect(body).toHaveLength(100);
    expect(body[0]).toMatchObject({ id: "bitcoin", symbol: "btc", name: "Bitcoin", market_cap_rank: 1 });
    for (const key of ["current_price", "market_cap", "total_volume", "high_24h", "low_24h", "circulating_supply", "last_updated"]) expect(body[0]).toHaveProperty(key);
    expect(body[0].last_updated).toBe("2024-06-01T12:30:25.000Z");
    const caps = (body as any[]).map((c) => c.market_cap);
    expect(caps).toEqual([...caps].sort((a, b) => b - a));
  });

  test("pages with per_page and page, and leaves a couple of coins unranked at the end", async () => {
    const first = (await get("/coingecko/api/v3/coins/markets?vs_currency=usd&per_page=50&page=1")).body as any[];
    const third = (await get("/coingecko/api/v3/coins/markets?vs_currency=usd&per_page=50&page=3")).body as any[];
    expect(first).toHaveLength(50);
    expect(first.find((c) => c.id === "optimism")).toBeDefined();
    expect(third.map((c) => c.id)).toEqual(SIM_COINS.slice(100).map((c) => c.id));
    expect(third.every((c) => c.market_cap_rank === null && c.market_cap === 0)).toBe(true);
    expect(third.find((c) => c.id === "safemoon-2")).toMatchObject({ symbol: "sfm", name: "SafeMoon" });
  });

  test("filters by ids and requires vs_currency", async () => {
    const some = (await get("/coingecko/api/v3/coins/markets?vs_currency=usd&ids=neo,optimism")).body as any[];
    expect(some.map((c) => c.id)).toEqual(["optimism", "neo"]);
    expect((await get("/coingecko/api/v3/coins/markets")).status).toBe(400);
  });

  test("lists every coin id, symbol and name, symbols not unique", async () => {
    const list = (await get("/coingecko/api/v3/coins/list")).body as any[];
    expect(list).toHaveLength(SIM_COINS.length);
    expect(list).toContainEqual({ id: "neo", symbol: "neo", name: "Neo" });
    expect(list.filter((c) => c.symbol === "doge").length).toBe(2);
  });

  test("allows 30 calls a minute and answers 429 with Retry-After beyond", async () => {
    clock.set(Date.UTC(2024, 5, 1, 12, 30, 0));
    for (let i = 0; i < COINGECKO_CALLS_PER_MINUTE; i++) expect((await get("/coingecko/api/v3/ping")).status).toBe(200);
    const refused = await get("/coingecko/api/v3/coins/list");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("60");
    clock.set(Date.UTC(2024, 5, 1, 12, 31, 0));
    expect((await get("/coingecko/api/v3/coins/list")).status).toBe(200);
  });
});

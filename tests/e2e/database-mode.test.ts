/**
 * Database mode end to end, on the real PostgreSQL and MariaDB servers and on embedded SQLite: the
 * service against the simulator (one virtual clock) fills klines_data with exactly the simulator's
 * candles, never a row twice, with CSV beside it; a restart adds nothing; a database outage of two
 * cycles ends with no gap; a change of tracked coins versions the metadata bitemporally and
 * /metadata answers point-in-time questions; the password never shows.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { renderConfig } from "../../src/config/config.ts";
import type { NativeExchangeId as ExchangeId } from "../../src/exchanges/index.ts";
import { NATIVE_EXCHANGE_IDS } from "../../src/exchanges/index.ts";
import { MINUTE_MS } from "../../src/domain/interval.ts";
import type { DatabaseSink } from "../../src/sinks/database.ts";
import { serverAvailable, startProxy, testDatabase, type TcpProxy, type TestDatabase } from "../db/servers.ts";
import { type Harness, startHarness } from "../helpers/harness.ts";
import { expectedCandle, readCsvDir } from "../helpers/oracle.ts";

const T0 = Date.parse("2024-05-01T09:00:00Z");
const COINS = ["BTC", "ETH", "DOGE", "NEO", "OP"];
const EXCHANGES: ExchangeId[] = [...NATIVE_EXCHANGE_IDS];
const PASSWORD = "Sup3r-Secret-pw";

const open: { h?: Harness; db?: TestDatabase; proxy?: TcpProxy }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.h?.close().catch(() => {});
    await o.proxy?.close().catch(() => {});
    await o.db?.drop().catch(() => {});
  }
});

async function dbOf(h: Harness): Promise<DatabaseSink> {
  return h.runtime.sinks.find((s) => s.name === "database") as DatabaseSink;
}

/** Every candle the database holds equals the simulator's (fed-forward ones flagged), with no gap. */
async function checkStore(db: DatabaseSink, fromOpenMs: number, toOpenMs: number): Promise<number> {
  let n = 0;
  for (const exchange of EXCHANGES) {
    for (const coin of COINS) {
      const rows = await db.readCandles(exchange, coin, 1, fromOpenMs, toOpenMs);
      const expectedOpens: number[] = [];
      for (let t = fromOpenMs; t <= toOpenMs; t += MINUTE_MS) expectedOpens.push(t);
      expect(rows.map((r) => r.openTimeMs)).toEqual(expectedOpens);
      for (const r of rows) {
        const want = expectedCandle(exchange, coin, 1, r.openTimeMs)!;
        expect({ ...r, volume: Number(r.volume.toPrecision(12)) }).toEqual({ ...want, volume: Number(want.volume.toPrecision(12)) });
      }
      n += rows.length;
    }
  }
  return n;
}

for (const dialect of ["postgres", "mysql", "sqlite"] as const) {
  const available = await serverAvailable(dialect);
  describe.skipIf(!available)(`database mode on ${dialect}`, () => {
    async function start(options: { proxy?: boolean; password?: boolean; db?: TestDatabase } = {}) {
      let proxy: TcpProxy | undefined;
      if (options.proxy) proxy = await startProxy("127.0.0.1", dialect === "postgres" ? 5432 : 3306);
      const db = options.db ?? testDatabase(dialect, { port: proxy?.port, password: options.password && dialect === "postgres" ? PASSWORD : undefined });
      const h = await startHarness({
        startMs: T0 + 5000,
        yaml: `bucketing_interval: 1m\nn_coins_to_poll: 0\nlist_coins_to_poll: [${COINS.join(", ")}]\nsave_to_database: true\ndatabase_connection: "${db.url}"\n`,
      });
      open.push({ h, db, proxy });
      return { h, db, proxy };
    }

    test("cycles fill klines_data (and CSV) with exactly the simulator's candles; a repeat adds no row", async () => {
      const { h } = await start();
      for (let i = 0; i <= 5; i++) await h.tickAt(T0 + i * MINUTE_MS + 5000);
      await h.tickAt(T0 + 5 * MINUTE_MS + 5000); // the same bucket again
      const db = await dbOf(h);
      expect(await checkStore(db, T0 - MINUTE_MS, T0 + 4 * MINUTE_MS)).toBe(4 * 5 * 6);
      const series = await db.listSeries();
      expect(series.every((s) => s.count === 6)).toBe(true);
      const csv = readCsvDir(join(h.dir, "csv"));
      expect(csv.length).toBe(4 * 5 * 6);
      expect((await db.listExchanges()).sort()).toEqual([...EXCHANGES].sort());
      expect((await db.listCoins()).map((c) => c.coin).sort()).toEqual([...COINS].sort());
    }, 60_000);

    test("a restart adds no duplicate and leaves no gap", async () => {
      const first = await start();
      await first.h.tickAt(T0 + 5000);
      await first.h.tickAt(T0 + MINUTE_MS + 5000);
      await first.h.runtime.close();
      // Down for five minutes, then a new process on the same database.
      const second = await start({ db: first.db });
      await second.h.tickAt(T0 + 7 * MINUTE_MS + 5000);
      await second.h.tickAt(T0 + 8 * MINUTE_MS + 5000);
      expect(await checkStore(await dbOf(second.h), T0 - MINUTE_MS, T0 + 7 * MINUTE_MS)).toBe(4 * 5 * 9);
    }, 60_000);

    if (dialect !== "sqlite") {
      test("the database down for two cycles: CSV goes on, the database catches up with no gap", async () => {
        const { h, proxy } = await start({ proxy: true });
        await h.tickAt(T0 + 5000);
        await proxy!.cut();
        for (let i = 1; i <= 2; i++) {
          const report = await h.tickAt(T0 + i * MINUTE_MS + 5000);
          for (const r of report.reports) {
            expect(r.sinks.database!.ok).toBe(false);
            expect(r.sinks.csv!.ok).toBe(true);
          }
        }
        expect(h.runtime.health.snapshot(h.clock.now()).reasons.join()).toContain("database");
        await proxy!.restore();
        await h.tickAt(T0 + 3 * MINUTE_MS + 5000);
        expect(await checkStore(await dbOf(h), T0 - MINUTE_MS, T0 + 2 * MINUTE_MS)).toBe(4 * 5 * 4);
        expect(readCsvDir(join(h.dir, "csv")).length).toBe(4 * 5 * 4);
      }, 60_000);
    }

    test("a change of tracked coins gives the three-row bitemporal pattern, and /metadata answers in time", async () => {
      const { h } = await start();
      await h.tickAt(T0 + 5000);
      const db = await dbOf(h);
      const first = await db.listMetadata();
      expect(first).toHaveLength(1);
      expect(first[0]).toMatchObject({ coinsTracked: 5, exchangesTracked: 4, bucketIntervalMinutes: 1, rowsPerMinute: 20, effectiveToMs: null, assertiveToMs: null });
      await h.tickAt(T0 + MINUTE_MS + 5000);
      expect(await db.listMetadata()).toHaveLength(1); // nothing changed, nothing written

      // DOGE is delisted everywhere; the next listing refresh drops it.
      for (const e of EXCHANGES) h.sim.setFaults(e, { delisted: ["DOGE"], ...(e === "kucoin" ? { omitEmpty: true } : {}) });
      await h.runtime.service.refreshUniverse();
      const changeAt = T0 + 2 * MINUTE_MS + 5000;
      await h.tickAt(changeAt);
      const rows = await db.listMetadata();
      expect(rows).toHaveLength(3);
      const T = rows.find((r) => r.coinsTracked === 4)!.effectiveFromMs;
      expect(T).toBeGreaterThanOrEqual(changeAt);
      const closed = rows.find((r) => r.assertiveToMs !== null)!;
      expect(closed).toMatchObject({ coinsTracked: 5, effectiveToMs: null, assertiveToMs: T });
      const reasserted = rows.find((r) => r.coinsTracked === 5 && r.assertiveToMs === null)!;
      expect(reasserted).toMatchObject({ effectiveFromMs: first[0]!.effectiveFromMs, effectiveToMs: T, assertiveFromMs: T });
      expect(rows.find((r) => r.coinsTracked === 4)).toMatchObject({ effectiveFromMs: T, effectiveToMs: null, assertiveFromMs: T, assertiveToMs: null, rowsPerMinute: 16 });

      const ask = async (q: string) => (await (await h.runtime.app.request(`/metadata${q}`)).json()) as Record<string, unknown>;
      const iso = (ms: number) => new Date(ms).toISOString();
      expect(await ask("")).toMatchObject({ number_of_coins_tracked: 4 });
      // Before the change, as believed before it: 5. As believed now about before: still 5.
      expect(await ask(`?effective_at=${iso(T - 1000)}&known_at=${iso(T - 1000)}`)).toMatchObject({ number_of_coins_tracked: 5 });
      expect(await ask(`?effective_at=${iso(T - 1000)}&known_at=${iso(T + 1000)}`)).toMatchObject({ number_of_coins_tracked: 5 });
      // After the change: believed 5 before we knew, 4 once we knew.
      expect(await ask(`?effective_at=${iso(T + 1000)}&known_at=${iso(T - 1000)}`)).toMatchObject({ number_of_coins_tracked: 5 });
      expect(await ask(`?effective_at=${iso(T)}&known_at=${iso(T)}`)).toMatchObject({ number_of_coins_tracked: 4 });
      expect((await h.runtime.app.request("/metadata?effective_at=yesterday")).status).toBe(400);
    }, 60_000);

    if (dialect === "postgres") {
      test("the database password never appears in logs, /health, /metrics, /metadata or config output", async () => {
        const { h } = await start({ password: true, proxy: true });
        await h.tickAt(T0 + 5000);
        const outputs = [
          ...h.lines,
          await (await h.runtime.app.request("/health")).text(),
          await (await h.runtime.app.request("/metrics")).text(),
          await (await h.runtime.app.request("/metadata")).text(),
          renderConfig(h.runtime.config),
        ];
        expect(h.runtime.config.databaseUrl).toContain(PASSWORD);
        for (const text of outputs) expect(text).not.toContain(PASSWORD);
        expect(renderConfig(h.runtime.config)).toContain(":***@");
      }, 60_000);
    }
  });
}

afterAll(() => {});

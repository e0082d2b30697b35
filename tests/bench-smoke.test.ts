/**
 * The benchmarks' quick variant with its correctness checks only: every section builds its inputs,
 * runs the code it would time and checks the results (against the simulator, byte for byte against
 * ccxt, in PostgreSQL and SQLite, through the built executable), and times nothing. Speed lives in
 * `bun run bench`, never in a test.
 */
import { describe, expect, test } from "bun:test";
import { runAggregateBench } from "../bench/aggregate.bench.ts";
import { runBackfillBench } from "../bench/backfill.bench.ts";
import { runCsvBench } from "../bench/csv.bench.ts";
import { runDatabaseBench } from "../bench/database.bench.ts";
import { runLiveCycleBench } from "../bench/live-cycle.bench.ts";
import { runParseBench } from "../bench/parse.bench.ts";
import { runResourcesBench } from "../bench/resources.bench.ts";
import { type BenchContext, renderResults, type Section } from "../bench/results.ts";
import { evaluateTargets } from "../bench/targets.ts";

const checksOnly = (): BenchContext => ({ quick: true, timing: false, figures: {}, log: () => {} });

async function runChecks(run: (ctx: BenchContext) => Promise<Section>): Promise<Section> {
  const ctx = checksOnly();
  const section = await run(ctx);
  // Nothing was timed, so nothing was judged.
  expect(ctx.figures).toEqual({});
  expect(section.rows).toEqual([]);
  return section;
}

describe("bench smoke (quick, checks only)", () => {
  test("parsing a full page of each exchange gives the simulator's candles", async () => {
    expect((await runChecks(runParseBench)).id).toBe("parse");
  });

  test("aggregateCandles and the simple-loop baseline give the same buckets as a reference", async () => {
    expect((await runChecks(runAggregateBench)).id).toBe("aggregate");
  });

  test("the CSV sink writes the rendered rows byte for byte, and a repeated write adds nothing", async () => {
    expect((await runChecks(runCsvBench)).id).toBe("csv");
  }, 60_000);

  test("the database sink writes every row once in PostgreSQL and SQLite, as COPY and plain INSERTs do", async () => {
    expect((await runChecks(runDatabaseBench)).id).toBe("database");
  }, 120_000);

  test("the backfill saves the simulator's candles, ccxt's CSV equals ours, no refusal is served", async () => {
    expect((await runChecks(runBackfillBench)).id).toBe("backfill");
  }, 180_000);

  test("a live tick saves every series' bucket, equal to the simulator's data", async () => {
    expect((await runChecks(runLiveCycleBench)).id).toBe("live");
  }, 120_000);

  test("the executable builds, answers /health and backfills into CSV", async () => {
    expect((await runChecks(runResourcesBench)).id).toBe("resources");
  }, 180_000);

  test("RESULTS.md gives a PASS or MISS line with the measured figure for each target", () => {
    const targets = evaluateTargets({ "aggregate.worstRatio": 1.2, "aggregate.slowestRate": 5e6, "res.idleRssBytes": 80e6 }, ["aggregate", "resources"]);
    const text = renderResults({
      machine: { cores: 2, model: "test cpu", memory: "1 GiB", os: "linux", bun: "1", commit: "abc" },
      startedAt: new Date(0),
      durationMs: 60_000,
      quick: false,
      sections: [],
      targets,
      failures: [],
    });
    expect(text).toContain("**PASS** Aggregation within 1.5× of the simple-loop baseline");
    expect(text).toContain("**MISS** Aggregation ≥ 10 million 1-minute candles per second (slowest interval): 5.00 M candles/s");
    expect(text).toContain("**PASS** Idle RSS under 100 MB: 80.0 MB");
    expect(text).toContain("**NOT MEASURED** Start to a healthy /health under 200 ms");
  });

  test("each exchange's share of its ceiling is judged into CSV and into PostgreSQL alike, with what COPY itself reaches beside it", () => {
    const targets = evaluateTargets(
      {
        "e2e.binance.share": 1.2,
        "e2e.binance.sharePg": 0.27,
        "e2e.binance.pgCopyShare": 0.55,
        "e2e.binance.pgCopyAloneShare": 1.1,
        "e2e.poloniex.sharePg": 0.18,
        "e2e.poloniex.pgCopyShare": 0.27,
        "e2e.poloniex.pgCopyAloneShare": 0.5,
        "e2e.kraken.sharePg": 0.93,
      },
      ["backfill"],
    );
    const verdict = (name: string) => targets.find((t) => t.target.startsWith(name));
    expect(verdict("Backfill into CSV: binance")?.pass).toBe(true);
    expect(
      evaluateTargets({ "e2e.poloniex.share": 0.92, "e2e.poloniex.shareWarmup": 0.664 }, ["backfill"]).find((t) => t.target.startsWith("Backfill into CSV: poloniex")),
    ).toMatchObject({
      pass: true,
      measured: "92.0% (median of the runs after a warm-up run; the warm-up run, in a fresh process: 66.4%)",
    });
    expect(verdict("Backfill into PostgreSQL: binance")).toMatchObject({
      pass: false,
      measured: "27.0% (PostgreSQL's own COPY of these rows, nothing else running, reaches 55.0% side by side with the other exchanges, 110.0% alone)",
    });
    expect(verdict("Backfill into PostgreSQL: poloniex")).toMatchObject({
      pass: false,
      measured: expect.stringContaining("50.0% alone: out of reach into PostgreSQL on this machine"),
    });
    expect(verdict("Backfill into PostgreSQL: kraken")).toMatchObject({ pass: true, measured: "93.0%" });
    expect(verdict("Backfill into PostgreSQL: kucoin")?.pass).toBeUndefined();
  });
});

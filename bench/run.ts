/**
 * `bun run bench`: every benchmark, each side by side with its baseline, then bench/RESULTS.md.
 * `bun run bench -- --quick` shrinks every size for a smoke run and prints instead of writing
 * RESULTS.md (unless `--write`). `--only a,b` runs some sections (parse, aggregate, csv, database,
 * backfill, live, resources, ccxt-path, api); so do bare names (`bun bench/run.ts ccxt-path`).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runAggregateBench } from "./aggregate.bench.ts";
import { runApiBench } from "./api.bench.ts";
import { runBackfillBench } from "./backfill.bench.ts";
import { runCcxtPathBench } from "./ccxt-path.bench.ts";
import { runCsvBench } from "./csv.bench.ts";
import { runDatabaseBench } from "./database.bench.ts";
import { runLiveCycleBench } from "./live-cycle.bench.ts";
import { describeMachine } from "./machine.ts";
import { runParseBench } from "./parse.bench.ts";
import { runResourcesBench } from "./resources.bench.ts";
import { type BenchContext, renderResults, type Section } from "./results.ts";
import { evaluateTargets } from "./targets.ts";

const SECTIONS: Record<string, (ctx: BenchContext) => Promise<Section>> = {
  parse: runParseBench,
  aggregate: runAggregateBench,
  csv: runCsvBench,
  database: runDatabaseBench,
  backfill: runBackfillBench,
  live: runLiveCycleBench,
  resources: runResourcesBench,
  "ccxt-path": runCcxtPathBench,
  api: runApiBench,
};

async function main(argv: readonly string[]): Promise<number> {
  const quick = argv.includes("--quick");
  const onlyArg = argv.find((a) => a.startsWith("--only="))?.slice("--only=".length) ?? (argv.includes("--only") ? argv[argv.indexOf("--only") + 1] : undefined);
  const named = argv.filter((a, i) => !a.startsWith("--") && argv[i - 1] !== "--only");
  const only = onlyArg?.split(",").map((s) => s.trim()) ?? (named.length > 0 ? named : undefined);
  for (const name of only ?? []) {
    if (!SECTIONS[name]) {
      console.error(`bench: unknown section "${name}" (known: ${Object.keys(SECTIONS).join(", ")})`);
      return 2;
    }
  }
  const write = argv.includes("--write") || (!quick && only === undefined);
  const started = new Date();
  const t0 = performance.now();
  const log = (line: string) => console.log(`[bench ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  const ctx: BenchContext = { quick, timing: true, figures: {}, log };
  const sections: Section[] = [];
  const failures: string[] = [];
  for (const [name, run] of Object.entries(SECTIONS)) {
    if (only && !only.includes(name)) continue;
    log(`${name}: starting`);
    const sectionStart = performance.now();
    try {
      const section = await run(ctx);
      sections.push(section);
      log(`${name}: done in ${((performance.now() - sectionStart) / 1000).toFixed(1)} s`);
      for (const row of section.rows) log(`  ${row.what}: ${row.figure}${row.baseline ? ` | baseline ${row.baseline}` : ""}${row.ratio ? ` | ${row.ratio}` : ""}`);
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      failures.push(`${name}: ${message.split("\n")[0]}`);
      log(`${name}: FAILED: ${message}`);
    }
  }
  const report = { machine: describeMachine(), startedAt: started, durationMs: performance.now() - t0, quick, sections, targets: evaluateTargets(ctx.figures, only), failures };
  const text = renderResults(report);
  if (write) {
    const path = join(import.meta.dir, "RESULTS.md");
    writeFileSync(path, text);
    log(`wrote ${path}`);
  } else {
    console.log("\n" + text);
  }
  for (const t of report.targets) log(`${t.verdict ?? (t.pass === undefined ? "NOT MEASURED" : t.pass ? "PASS" : "MISS")} ${t.target}: ${t.measured}`);
  return failures.length > 0 ? 1 : 0;
}

process.exit(await main(process.argv.slice(2)));

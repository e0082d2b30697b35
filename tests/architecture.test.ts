/**
 * The layout the code keeps: a pure core, effects at the edges, no import running back up, and
 * the one series step both the live cycle and the backfill go through.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../src");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "page" ? [] : sources(path);
    return name.endsWith(".ts") ? [path] : [];
  });
}

/** Each source file's imports of other source files, as src-relative paths (type-only ones too). */
const imports = new Map(
  sources(SRC).map((file) => {
    const text = readFileSync(file, "utf8");
    const targets = [...text.matchAll(/from\s+"(\.{1,2}\/[^"]+)"/g)].map((m) => relative(SRC, resolve(dirname(file), m[1]!))).filter((t) => !t.startsWith("..")); // the migrations' SQL is data
    return [relative(SRC, file), targets] as const;
  }),
);
const room = (path: string) => (path.includes("/") ? path.slice(0, path.indexOf("/")) : path);

/** Which rooms a room may import from (besides itself and the top-level errors/clock/ascii-writer). */
const ALLOWED: Record<string, readonly string[]> = {
  domain: [],
  exchanges: ["domain"],
  http: ["domain", "exchanges", "telemetry"],
  sinks: ["domain", "exchanges", "db", "telemetry"],
  db: ["domain", "exchanges", "telemetry"],
  pipeline: ["domain", "exchanges", "http", "sinks", "telemetry"],
  telemetry: [],
  streams: ["domain", "exchanges", "http", "telemetry"],
  cluster: ["domain", "telemetry"],
};
const SHARED = new Set(["errors.ts", "clock.ts", "ascii-writer.ts"]);

describe("architecture", () => {
  test("the top of src/ holds only the composition root and a few shared files; the rest have rooms", () => {
    const top = readdirSync(SRC)
      .filter((n) => n.endsWith(".ts"))
      .sort();
    expect(top).toEqual(["ascii-writer.ts", "clock.ts", "errors.ts", "main.ts"]);
  });

  test.each(Object.keys(ALLOWED))("%s imports only from the rooms below it", (name) => {
    const wrong: string[] = [];
    for (const [file, targets] of imports) {
      if (room(file) !== name) continue;
      for (const target of targets) {
        if (room(target) === name || SHARED.has(target) || ALLOWED[name]!.includes(room(target))) continue;
        wrong.push(`${file} → ${target}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  test("the live cycle and the backfill take the same series step; SEED_BUCKETS and the concurrency gate exist once", () => {
    for (const file of ["pipeline/cycle.ts", "pipeline/backfill.ts"]) {
      const text = readFileSync(join(SRC, file), "utf8");
      expect(text).toContain("stepWindow(");
      expect(text).toContain("writeToSinks(");
      expect(text).not.toContain("buildWindowCandles(");
    }
    const all = [...imports.keys()].map((f) => readFileSync(join(SRC, f), "utf8"));
    expect(all.filter((t) => /const SEED_BUCKETS\s*=/.test(t))).toHaveLength(1);
    expect(all.filter((t) => /function createGate\(/.test(t))).toHaveLength(1);
    expect(all.filter((t) => /export interface WindowCandles\b/.test(t))).toHaveLength(1);
  });
});

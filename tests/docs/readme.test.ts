/** The README stays a user guide a newcomer can trust: short, its links real, its claims checked. */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const REPO = resolve(import.meta.dir, "../..");
const readme = readFileSync(join(REPO, "README.md"), "utf8");
const docs = readdirSync(join(REPO, "docs"))
  .filter((f) => f.endsWith(".md"))
  .map((f) => join("docs", f));

describe("README", () => {
  test("is a user guide: under 20,000 characters, the lab notebook in docs/", () => {
    expect(readme.length).toBeLessThan(20_000);
    for (const heading of ["## Run it", "## Test it", "## Configuration", "## Backfill and gap repair", "## Troubleshooting"]) expect(readme).toContain(heading);
    for (const doc of ["docs/architecture.md", "docs/guarantees.md", "docs/benchmarks.md", "docs/adding-an-exchange.md"]) expect(readme).toContain(doc);
  });

  test("cites only what is in the repository: no SPEC sections, every relative link resolves", () => {
    for (const file of ["README.md", ...docs]) {
      const text = readFileSync(join(REPO, file), "utf8");
      expect(`${file}: ${text.match(/SPEC section \d+/)?.[0] ?? "ok"}`).toBe(`${file}: ok`);
      for (const [, target] of text.matchAll(/\]\(([^)#:]+)(#[^)]*)?\)/g)) {
        expect(`${file} → ${target}: ${existsSync(resolve(REPO, dirname(file), target!)) ? "exists" : "missing"}`).toBe(`${file} → ${target}: exists`);
      }
    }
  });

  test("claims the Bun version package.json requires, and this Bun meets it", () => {
    const engines = (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { engines?: { bun?: string } }).engines?.bun;
    expect(engines).toMatch(/^>=\d+\.\d+\.\d+$/);
    const minimum = engines!.slice(2);
    expect(readme).toContain(`Bun](https://bun.sh) ${minimum} or newer`);
    const [a, b, c] = Bun.version.split(".").map(Number);
    const [x, y, z] = minimum.split(".").map(Number);
    expect(a! * 1e6 + b! * 1e3 + c!).toBeGreaterThanOrEqual(x! * 1e6 + y! * 1e3 + z!);
  });

  test("config.example.yml, which it points to, is accepted by config", async () => {
    const { parseConfig } = await import("../../src/config/config.ts");
    expect(readme).toContain("config.example.yml");
    expect(() => parseConfig(readFileSync(join(REPO, "config.example.yml"), "utf8"), "config.example.yml")).not.toThrow();
  });
});

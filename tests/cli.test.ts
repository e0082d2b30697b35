import { describe, expect, test } from "bun:test";
import { parseCommandLine } from "../src/cli/args.ts";
import { UsageError } from "../src/errors.ts";
import { main } from "../src/main.ts";
import { SIMULATE_USAGE } from "../src/simulator/cli.ts";

describe("cli", () => {
  test("runs the service when no command is given", () => {
    expect(parseCommandLine([])).toEqual({ name: "run" });
    expect(parseCommandLine(["-c", "x.yml"])).toEqual({ name: "run", configFlag: "x.yml" });
  });
  test.each([
    [["once", "-c", "a.yml"], { name: "once", configFlag: "a.yml" }],
    [["config", "--config=b.yml"], { name: "config", configFlag: "b.yml" }],
    [["--version"], { name: "version" }],
    [["--help"], { name: "help", topic: undefined }],
    [["once", "--help"], { name: "help", topic: "once" }],
    [["healthcheck", "--url", "http://127.0.0.1:1/health"], { name: "healthcheck", url: "http://127.0.0.1:1/health", configFlag: undefined, timeoutMs: 3000 }],
  ])("parses %p", (argv, expected) => {
    expect(parseCommandLine(argv)).toEqual(expected as never);
  });
  test.each([
    [["frobnicate"], "unknown command"],
    [["once", "-c"], "needs a file path"],
    [["once", "extra"], "unexpected argument"],
    [["once", "-c", "a", "-c", "b"], "given twice"],
    [["healthcheck", "--url", "ftp://x"], "http(s) URL"],
    [["healthcheck", "--timeout", "0"], "seconds"],
  ])("refuses %p", (argv, message) => {
    expect(() => parseCommandLine(argv)).toThrow(UsageError);
    expect(() => parseCommandLine(argv)).toThrow(message);
  });
  test("help simulate prints the simulator's whole usage (every option it takes)", async () => {
    let out = "";
    expect(await main(["help", "simulate"], {}, { out: (t) => (out += t), err: () => {} })).toBe(0);
    expect(out).toBe(SIMULATE_USAGE);
    for (const option of ["--host H[,H...]", "--request-log FILE", "--extra-coins N"]) expect(out).toContain(option);
  });
});

/** `bun run build --all`: the executable for linux-x64, linux-arm64 and their musl variants, via --target. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../helpers/binary.ts";

const dir = mkdtempSync(join(tmpdir(), "ci-targets-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** ELF machine (x86-64 or AArch64) and whether the program interpreter is musl's. */
function describeElf(path: string): { machine: string; musl: boolean } {
  const bytes = readFileSync(path).subarray(0, 4096);
  expect([...bytes.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
  const machine = bytes.readUInt16LE(18);
  return { machine: machine === 0x3e ? "x64" : machine === 0xb7 ? "arm64" : `0x${machine.toString(16)}`, musl: bytes.toString("latin1").includes("ld-musl") };
}

describe("cross-built executables", () => {
  test("--all builds linux-x64, linux-arm64 and the musl variants, each for its machine", async () => {
    const proc = Bun.spawn(["bun", "scripts/build.ts", "--outfile", join(dir, "native"), "--all", "--outdir", dir], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
    if (code !== 0) console.error(err);
    expect(code).toBe(0);
    expect(describeElf(join(dir, "cryptointellect-linux-x64"))).toEqual({ machine: "x64", musl: false });
    expect(describeElf(join(dir, "cryptointellect-linux-arm64"))).toEqual({ machine: "arm64", musl: false });
    expect(describeElf(join(dir, "cryptointellect-linux-x64-musl"))).toEqual({ machine: "x64", musl: true });
    expect(describeElf(join(dir, "cryptointellect-linux-arm64-musl"))).toEqual({ machine: "arm64", musl: true });
    // The one this machine can run answers like the native build.
    const run = Bun.spawnSync([join(dir, "cryptointellect-linux-x64"), "--version"]);
    expect(run.stdout.toString()).toMatch(/^cryptointellect \d+\.\d+\.\d+ \(commit [0-9a-f]+\)/);
  }, 300_000);
});

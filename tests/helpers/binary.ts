/** Builds the single executable once per test process and runs it. */
import { existsSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { NATIVE_EXCHANGE_IDS } from "../../src/exchanges/index.ts";

export const ROOT = join(import.meta.dir, "..", "..");
/** Each test process builds its own executable, so builds running beside the tests never replace it. */
export const BINARY = join(ROOT, "dist", `test-${process.pid}`, "cryptointellect");

let built: Promise<string> | undefined;

export function buildBinary(): Promise<string> {
  built ??= (async () => {
    process.once("exit", () => rmSync(dirname(BINARY), { recursive: true, force: true }));
    const proc = Bun.spawn(["bun", "scripts/build.ts", "--outfile", BINARY], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    const code = await proc.exited;
    if (code !== 0 || !existsSync(BINARY)) throw new Error(`bun run build failed: ${await new Response(proc.stderr).text()}`);
    return BINARY;
  })();
  return built;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runBinary(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<RunResult> {
  const proc = Bun.spawn([BINARY, ...args], { cwd: options.cwd, env: { ...process.env, ...options.env }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** Config YAML pointing every API at the simulator. */
export function simulatorConfig(baseUrl: string, extra: string, ccxtIds: readonly string[] = []): string {
  return `${extra.trim()}
api_base_urls:
${[...NATIVE_EXCHANGE_IDS, "coingecko", ...ccxtIds].map((id) => `  ${id}: ${baseUrl}/${id}\n`).join("")}`;
}

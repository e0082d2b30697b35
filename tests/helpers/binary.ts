/** Builds the single executable once per test process and runs it. */
import { existsSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..", "..");
export const BINARY = join(ROOT, "dist", "cryptointellect");

let built: Promise<string> | undefined;

export function buildBinary(): Promise<string> {
  built ??= (async () => {
    const proc = Bun.spawn(["bun", "run", "build"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
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
export function simulatorConfig(baseUrl: string, extra: string): string {
  return `${extra.trim()}
api_base_urls:
  binance: ${baseUrl}/binance
  kraken: ${baseUrl}/kraken
  kucoin: ${baseUrl}/kucoin
  poloniex: ${baseUrl}/poloniex
  coingecko: ${baseUrl}/coingecko
`;
}

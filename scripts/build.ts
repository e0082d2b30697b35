/**
 * Builds the single executable: `bun run build` → dist/cryptointellect for this machine.
 * `bun run build --all` also builds linux-x64, linux-arm64 and the musl variants via --target.
 */
import { $ } from "bun";
import { dirname, join } from "node:path";
import { buildPageHtml, EMBEDDED_PAGE_FILE } from "../src/server/page.ts";

// Inside `docker build` there is no .git: the Dockerfile passes the commit in CRYPTOINTELLECT_COMMIT.
const commit =
  process.env.CRYPTOINTELLECT_COMMIT?.match(/^[0-9a-f]{4,40}$/)?.[0] ?? ((await $`git rev-parse --short HEAD`.quiet().nothrow()).stdout.toString().trim() || "unknown");
// `--outfile PATH` builds elsewhere (the tests build their own copy, so a build running beside them never swaps it).
const outIndex = process.argv.indexOf("--outfile");
const targets: [string | undefined, string][] = [[undefined, outIndex > 0 ? process.argv[outIndex + 1]! : "dist/cryptointellect"]];
if (process.argv.includes("--all")) {
  // `--outdir DIR` puts the cross-built executables elsewhere than dist/ (the tests use it).
  const dirIndex = process.argv.indexOf("--outdir");
  const dir = dirIndex > 0 ? process.argv[dirIndex + 1]! : "dist";
  targets.push(
    ["bun-linux-x64", `${dir}/cryptointellect-linux-x64`],
    ["bun-linux-arm64", `${dir}/cryptointellect-linux-arm64`],
    ["bun-linux-x64-musl", `${dir}/cryptointellect-linux-x64-musl`],
    ["bun-linux-arm64-musl", `${dir}/cryptointellect-linux-arm64-musl`],
  );
}
// ccxt is not part of the program's bundle: it goes in as one embedded file (a 7 MB CommonJS
// bundle, src/exchanges/ccxt-catalog.ts evaluates it when a configured exchange needs it), so
// its code is neither loaded nor mapped when only the native exchanges are configured: their
// start-up time and memory are what they were without ccxt.
// Beside the executable, so that builds running side by side (the tests build their own) never share it.
const ccxtBundle = join(dirname(targets[0]![1]), "ccxt-bundle.txt");
const bundled = Bun.spawnSync(["bun", "build", "scripts/ccxt-entry.cjs", "--target=node", "--format=cjs", "--minify", "--outfile", ccxtBundle], {
  stdout: "ignore",
  stderr: "inherit",
});
if (bundled.exitCode !== 0) {
  console.error("build failed: the ccxt bundle");
  process.exit(1);
}
// The status page at `/`: its script bundled for the browser with lightweight-charts and inlined,
// with its style, into one HTML file (src/server/page.ts), embedded as a file the server finds by name.
const pageFile = join(dirname(targets[0]![1]), EMBEDDED_PAGE_FILE);
try {
  await Bun.write(pageFile, await buildPageHtml());
} catch (error) {
  console.error(`build failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

for (const [target, outfile] of targets) {
  // Bytecode: the modules are parsed at build time, so start-up takes ~50 ms instead of ~140 ms,
  // and a SIGTERM in the first milliseconds already finds the clean-stop handler. No embedded
  // source map: our errors carry their own messages.
  const args = [
    "build",
    "src/main.ts",
    ccxtBundle,
    pageFile,
    "--loader",
    ".txt:file",
    "--compile",
    "--minify",
    "--bytecode",
    "--format=esm",
    `--define`,
    `CRYPTOINTELLECT_COMMIT=${JSON.stringify(commit)}`,
    "--outfile",
    outfile,
  ];
  if (target) args.push(`--target=${target}`);
  const result = Bun.spawnSync(["bun", ...args], { stdout: "inherit", stderr: "inherit" });
  if (result.exitCode !== 0) {
    console.error(`build failed for ${target ?? "this machine"}`);
    process.exit(1);
  }
  console.log(`built ${outfile}${target ? ` (${target})` : ""} at commit ${commit}`);
}

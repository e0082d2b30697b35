/**
 * The single executable serves the page it carries: `run` (compiled binary) against the simulator
 * answers `/` with the very HTML the checkout builds, embedded at build time (a compiled program has
 * no sources to build it from), and that page works in Chromium.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { buildPageHtml, contentSecurityPolicy } from "../../src/server/page.ts";
import { type RunningSimulator, startSimulator } from "../../src/simulator/server.ts";
import { BINARY, buildBinary, simulatorConfig } from "../helpers/binary.ts";
import { chromiumAvailable, launchChromium } from "./chromium.ts";

let sim: RunningSimulator;
let work: string;
let proc: Subprocess<"ignore", "pipe", "pipe"> | undefined;
let base = "";
let stderr = "";

beforeAll(async () => {
  await buildBinary();
  sim = startSimulator();
  work = mkdtempSync(join(tmpdir(), "ci-page-binary-"));
  const cfg = join(work, "cfg.yml");
  writeFileSync(
    cfg,
    simulatorConfig(
      sim.url,
      `csv_directory: ${join(work, "csv")}\nn_coins_to_poll: 0\nlist_coins_to_poll: [BTC, ETH]\nexchanges: [binance, kraken]\nhttp:\n  host: 127.0.0.1\n  port: 0\n`,
    ),
  );
  // From a directory with no sources in it: whatever `/` answers comes from inside the executable.
  proc = Bun.spawn([BINARY, "run", "-c", cfg], { cwd: work, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const reader = proc.stderr.getReader();
  const started = Date.now();
  while (base === "" && Date.now() - started < 20_000) {
    const { value, done } = await reader.read();
    if (done) break;
    stderr += new TextDecoder().decode(value);
    const port = /service started .*http=127\.0\.0\.1:(\d+)/.exec(stderr)?.[1];
    if (port) base = `http://127.0.0.1:${port}`;
  }
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += new TextDecoder().decode(value);
    }
  })();
}, 180_000);

afterAll(async () => {
  proc?.kill("SIGTERM");
  await proc?.exited;
  await sim?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the executable's status page", () => {
  test("is the page the checkout builds, embedded, under the CSP of its script's hash", async () => {
    expect(base).not.toBe("");
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/html");
    const html = await res.text();
    expect(html).toBe(await buildPageHtml());
    expect(res.headers.get("content-security-policy")).toBe(contentSecurityPolicy(html));
    // The page's neighbours are still themselves.
    expect((await fetch(`${base}/health`)).headers.get("content-type")).toStartWith("application/json");
    expect(stderr).not.toContain("HTTP request failed");
  });

  test.skipIf(!chromiumAvailable())(
    "works in Chromium: the series of the first cycle are listed, with no console error",
    async () => {
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on("console", (m) => {
          if (m.type() === "error" || m.type() === "warning") problems.push(m.text());
        });
        page.on("pageerror", (e) => problems.push(e.message));
        await page.goto(`${base}/`);
        await page.waitForSelector("body[data-loaded]");
        // The first cycle runs at start: refreshed until its series are saved and listed.
        for (let i = 0; i < 40 && (await page.$$("#series-body tr")).length < 4; i++) {
          await page.evaluate("window.__ci.refresh()");
          await Bun.sleep(500);
        }
        const keys = await page.$$eval("#series-body tr", (trs) => trs.map((tr) => tr.getAttribute("data-key")));
        expect(keys.sort()).toEqual(["binance|BTC|1", "binance|ETH|1", "kraken|BTC|1", "kraken|ETH|1"]);
        expect(problems).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});

/**
 * `cryptointellect run` start-up: the HTTP endpoint is bound before any sink is opened, so a host or
 * port it cannot listen on is refused with a clear message and nothing created (no CSV folder).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "bun";

const MAIN = join(import.meta.dir, "..", "src", "main.ts");
let work: string;
let taken: Server<undefined>;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "ci-serve-start-"));
  taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("taken") });
});
afterAll(async () => {
  await taken.stop(true);
  rmSync(work, { recursive: true, force: true });
});

/** Runs `cryptointellect run` in a fresh folder with `http` set; returns its exit, stderr and what it left there. */
async function run(name: string, http: string): Promise<{ code: number; stderr: string; left: string[] }> {
  const cwd = join(work, name);
  mkdirSync(cwd);
  // Nothing listens on port 9: a run that got through would fetch nothing, never reach out.
  const apis = ["binance", "kraken", "kucoin", "poloniex", "coingecko"].map((id) => `${id}: "http://127.0.0.1:9"`).join(", ");
  writeFileSync(join(cwd, "cfg.yml"), `http: ${http}\napi_base_urls: {${apis}}\n`);
  const proc = Bun.spawn(["bun", MAIN, "run", "-c", "cfg.yml"], { cwd, env: { ...process.env, CRYPTOINTELLECT_CONFIG: "", DATABASE_URL: "" }, stdout: "pipe", stderr: "pipe" });
  // A start-up that wrongly succeeded would serve forever: stop it, and let the assertions say so.
  const guard = setTimeout(() => proc.kill(), 20_000);
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(guard);
  return { code, stderr, left: readdirSync(cwd).filter((f) => f !== "cfg.yml") };
}

describe("run start-up", () => {
  test("a port in use: exit 1 naming the port, nothing created", async () => {
    const r = await run("port-in-use", `{host: 127.0.0.1, port: ${taken.port}}`);
    expect(r.stderr).toContain(`cryptointellect: cannot start: cannot listen on 127.0.0.1:${taken.port}: port ${taken.port} is in use by another program (set http.port)`);
    expect(r.code).toBe(1);
    expect(r.left).toEqual([]);
  }, 30_000);

  test("an address that is not this machine's: exit 2 naming http.host, nothing created", async () => {
    const r = await run("foreign-address", "{host: 192.0.2.1, port: 0}");
    expect(r.stderr).toContain('- http.host: cannot listen on "192.0.2.1": not an address of this machine');
    expect(r.code).toBe(2);
    expect(r.left).toEqual([]);
  }, 30_000);

  test("a host name that does not resolve: exit 2 naming http.host, nothing created", async () => {
    const r = await run("unresolved-name", "{host: no-such-host.invalid, port: 0}");
    expect(r.stderr).toContain('- http.host: cannot listen on "no-such-host.invalid": the name does not resolve');
    expect(r.stderr).not.toContain("in use");
    expect(r.code).toBe(2);
    expect(r.left).toEqual([]);
  }, 30_000);

  test("http.enabled: false serves nothing at all: a port another program holds is no obstacle", async () => {
    const cwd = join(work, "disabled");
    mkdirSync(cwd);
    const apis = ["binance", "kraken", "kucoin", "poloniex", "coingecko"].map((id) => `${id}: "http://127.0.0.1:9"`).join(", ");
    writeFileSync(join(cwd, "cfg.yml"), `http: {enabled: false, host: 127.0.0.1, port: ${taken.port}}\napi_base_urls: {${apis}}\n`);
    const proc = Bun.spawn(["bun", MAIN, "run", "-c", "cfg.yml"], { cwd, env: { ...process.env, CRYPTOINTELLECT_CONFIG: "", DATABASE_URL: "" }, stdout: "pipe", stderr: "pipe" });
    const stderr = proc.stderr.getReader();
    let text = "";
    while (!text.includes("service started")) {
      const { value, done } = await stderr.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(text).toContain(`http="off (http.enabled: false)"`);
    expect(await (await fetch(`http://127.0.0.1:${taken.port}/`)).text()).toBe("taken");
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
  }, 30_000);

  test("a host that is no host name at all is refused by the config check", async () => {
    const r = await run("not-a-host", '{host: "no such host !"}');
    expect(r.stderr).toContain('- http.host: "no such host !" is not an IP address or a host name');
    expect(r.code).toBe(2);
    expect(r.left).toEqual([]);
  }, 30_000);
});

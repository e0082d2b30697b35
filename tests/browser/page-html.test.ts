/** The status page as served: one self-contained HTML file at exactly `/`, under a hash-based CSP. */
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createHealthTracker } from "../../src/collector/health.ts";
import { createApp } from "../../src/server/app.ts";
import { createMetadataRoutes } from "../../src/server/metadata.ts";
import { buildPageHtml, contentSecurityPolicy, inlinePage, PAGE_SOURCE_DIR, statusPage } from "../../src/server/page.ts";
import { createMemoryLogger } from "../../src/telemetry/log.ts";

const TEMPLATE = `<!doctype html><head><style data-inline></style></head><body><script type="module" data-inline></script></body>`;

describe("status page HTML", () => {
  test("inlines script and style into the template's slots, escaping what would end them early", () => {
    const html = inlinePage(TEMPLATE, `const a = "</script><!--"; const b = "$&$1";`, `a::after { content: "</style>"; }`);
    expect(html).toBe(
      `<!doctype html><head><style>a::after { content: "<\\/style>"; }</style></head><body><script type="module">const a = "<\\/script><\\!--"; const b = "$&$1";</script></body>`,
    );
    // The escaped script means the same.
    expect(new Function(`${html.match(/<script type="module">([\s\S]*)<\/script>/)![1]}; return a;`)()).toBe("</script><!--");
  });

  test("refuses a template that lacks a slot", () => {
    expect(() => inlinePage("<html></html>", "", "")).toThrow("slot");
  });

  test("its CSP allows exactly the page's inline scripts, by hash, and no inline handler or eval", () => {
    const body = "console.log(1)";
    const csp = contentSecurityPolicy(`<p></p><script type="module">${body}</script>`);
    const hash = createHash("sha256").update(body).digest("base64");
    expect(csp).toContain(`script-src 'sha256-${hash}';`);
    expect(csp).toStartWith("default-src 'self'; ");
    expect(csp).toContain("img-src 'self' data:");
    expect(csp).toContain("style-src 'self' 'unsafe-inline'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-eval");
    expect(contentSecurityPolicy("<p>no script</p>")).toContain("script-src 'none'");
  });

  test("built from the sources, it is one file: the script and lightweight-charts inline, nothing fetched from elsewhere", async () => {
    const html = await buildPageHtml();
    expect(html.match(/<script\b/g)).toHaveLength(1);
    expect(html).not.toMatch(/<script[^>]*\bsrc=/);
    expect(html).not.toMatch(/<link[^>]+rel="?stylesheet/);
    expect(html).toContain("<noscript>");
    expect(html).not.toContain("data-inline");
    // Every URL in an attribute is the page's own or the TradingView attribution link (a link, never fetched).
    const urls = [...html.matchAll(/\b(?:src|href|action)="([^"]*)"/g)].map((m) => m[1]!);
    expect(urls.filter((u) => /^[a-z]+:/i.test(u) && !u.startsWith("data:"))).toEqual(["https://www.tradingview.com/"]);
    // lightweight-charts' production build, bundled in (its development build is twice the size).
    expect(html).toContain('"Candlestick"');
    expect(html).toContain("Failed to parse color");
    expect(html.length).toBeGreaterThan(150_000);
    expect(html.length).toBeLessThan(300_000);
  });

  test("is built once per process and then served from memory", async () => {
    const first = await statusPage();
    expect(await statusPage()).toBe(first);
    expect(first.contentSecurityPolicy).toBe(contentSecurityPolicy(first.html));
  });
});

describe("GET /", () => {
  const app = createApp({
    health: () => createHealthTracker(["binance"], ["csv"], 0).snapshot(0),
    metrics: () => "# metrics\n",
    metadata: createMetadataRoutes(undefined),
    logger: createMemoryLogger(),
    page: async () => ({ html: "<!doctype html><p>status</p>", contentSecurityPolicy: "default-src 'self'; script-src 'none'" }),
  });

  test("serves the page as HTML under its CSP, never cached, never sniffed", async () => {
    const res = await app.request("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/html");
    expect(res.headers.get("content-security-policy")).toBe("default-src 'self'; script-src 'none'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(await res.text()).toBe("<!doctype html><p>status</p>");
  });

  test("shadows nothing: /health, /metrics and unknown paths answer as before", async () => {
    const health = await app.request("/health");
    expect(health.headers.get("content-type")).toStartWith("application/json");
    expect(((await health.json()) as { status: string }).status).toBe("starting");
    expect(health.headers.get("content-security-policy")).toBeNull();
    expect(await (await app.request("/metrics")).text()).toBe("# metrics\n");
    for (const path of ["/index.html", "/page", "/api"]) {
      const res = await app.request(path);
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toStartWith("application/json");
    }
    expect((await app.request("/", { method: "POST" })).status).toBe(404);
  });

  test("a page that cannot be built is a 500 with the reason in the log, not in the answer", async () => {
    const logger = createMemoryLogger();
    const broken = createApp({
      health: () => createHealthTracker([], [], 0).snapshot(0),
      metrics: () => "",
      metadata: createMetadataRoutes(undefined),
      logger,
      page: () => Promise.reject(new Error("status page: bundling failed: no lightweight-charts")),
    });
    const res = await broken.request("/");
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain("lightweight-charts");
    expect(logger.lines.join("\n")).toContain("lightweight-charts");
  });
});

/** WCAG 2 contrast ratio of two #rrggbb colours. */
function contrast(a: string, b: string): number {
  const luminance = (hex: string) => {
    const [r, g, bl] = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

describe("status page colours", () => {
  const css = readFileSync(join(PAGE_SOURCE_DIR, "style.css"), "utf8");
  const schemes = [...css.matchAll(/:root \{([^}]*)\}/g)].map((m) => Object.fromEntries([...m[1]!.matchAll(/--([a-z-]+):\s*(#[0-9a-f]{6})/g)].map((v) => [v[1]!, v[2]!])));
  // Text colour on the background it is drawn on, as style.css pairs them.
  const pairs = [
    ["fg", "bg"],
    ["fg", "panel"],
    ["fg", "selected"],
    ["muted", "bg"],
    ["muted", "panel"],
    ["accent", "bg"],
    ["accent", "panel"],
    ["bg", "accent"],
    ["ok-fg", "ok-bg"],
    ["warn-fg", "warn-bg"],
    ["bad-fg", "bad-bg"],
    ["info-fg", "info-bg"],
    ["bad-fg", "bg"],
    ["bad-fg", "panel"],
    ["warn-fg", "bg"],
    ["warn-fg", "panel"],
    ["muted", "selected"],
    ["bad-fg", "selected"],
    ["warn-fg", "selected"],
  ] as const;

  test("light and dark schemes both define every colour", () => {
    expect(schemes).toHaveLength(2);
    for (const [fg, bg] of pairs) for (const scheme of schemes) expect([scheme[fg], scheme[bg]]).not.toContain(undefined);
  });

  test.each(pairs)("--%s on --%s is readable (WCAG AA, 4.5:1) in both schemes", (fg, bg) => {
    for (const scheme of schemes) expect(contrast(scheme[fg]!, scheme[bg]!)).toBeGreaterThanOrEqual(4.5);
  });
});

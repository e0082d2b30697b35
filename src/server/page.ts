/**
 * The status page at `/`: one self-contained HTML file, its script (with lightweight-charts) and
 * style inlined, so it works offline and needs nothing but the executable.
 *
 * scripts/build.ts builds it with `buildPageHtml()` and embeds it in the executable as
 * `status-page.html.txt`; from a checkout (tests, `bun src/main.ts`) nothing is embedded, so the
 * same function builds it from src/server/page on the first request. Either way it is kept in memory.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";

/** What `/` answers: the page and the Content-Security-Policy it works under. */
export interface StatusPage {
  html: string;
  contentSecurityPolicy: string;
}

/** Where the page's sources live in a checkout. */
export const PAGE_SOURCE_DIR = join(import.meta.dir, "page");
/** The file scripts/build.ts embeds (the compiler names it `status-page.html-<hash>.txt`). */
export const EMBEDDED_PAGE_FILE = "status-page.html.txt";
const EMBEDDED_PAGE = /^status-page\.html(-[a-z0-9]+)?\.txt$/;

let cached: Promise<StatusPage> | undefined;

/** The page, built or read once per process; a failed build is retried on the next request. */
export function statusPage(): Promise<StatusPage> {
  cached ??= pageHtml().then(
    (html) => ({ html, contentSecurityPolicy: contentSecurityPolicy(html) }),
    (error: unknown) => {
      cached = undefined;
      throw error;
    },
  );
  return cached;
}

/** The page's HTML: the embedded copy in the executable, else built from the sources. */
export async function pageHtml(): Promise<string> {
  const embedded = Bun.embeddedFiles.find((f) => EMBEDDED_PAGE.test((f as File).name ?? ""));
  return embedded ? embedded.text() : buildPageHtml();
}

/** Bundles the page's script for the browser (minified, lightweight-charts included) and inlines it and the style. */
export async function buildPageHtml(dir: string = PAGE_SOURCE_DIR): Promise<string> {
  // NODE_ENV=production also picks lightweight-charts' production build (its "development" export is twice the size).
  const built = await Bun.build({
    entrypoints: [join(dir, "app.ts")],
    target: "browser",
    format: "esm",
    minify: true,
    define: { "process.env.NODE_ENV": JSON.stringify("production") },
  });
  if (!built.success || built.outputs.length !== 1) {
    throw new Error(`status page: bundling ${join(dir, "app.ts")} failed: ${built.logs.map(String).join("; ")}`);
  }
  const [template, css, js] = await Promise.all([Bun.file(join(dir, "index.html")).text(), Bun.file(join(dir, "style.css")).text(), built.outputs[0]!.text()]);
  return inlinePage(template, js, css);
}

const STYLE_SLOT = /<style data-inline><\/style>/;
const SCRIPT_SLOT = /<script type="module" data-inline><\/script>/;

/** Puts the script and style into the template's two empty slots. */
export function inlinePage(template: string, js: string, css: string): string {
  if (!STYLE_SLOT.test(template) || !SCRIPT_SLOT.test(template)) throw new Error("status page: the template lacks its style or script slot");
  // Inside <script>, "</script" would end the element and "<!--" would change how it is parsed;
  // both only occur inside string or regex literals, where "<\/" and "<\!" mean the same.
  const safeJs = js
    .trim()
    .replace(/<\/(script)/gi, "<\\/$1")
    .replace(/<!--/g, "<\\!--");
  const safeCss = css.trim().replace(/<\/(style)/gi, "<\\/$1");
  // Functions as replacements: "$&" and friends in the bundle must stay as they are.
  return template.replace(STYLE_SLOT, () => `<style>${safeCss}</style>`).replace(SCRIPT_SLOT, () => `<script type="module">${safeJs}</script>`);
}

/**
 * Scripts only by the hashes of the page's own inline scripts: no other script, inline handler or
 * eval runs. Styles may be inline (the chart sizes its canvases with style attributes).
 */
export function contentSecurityPolicy(html: string): string {
  const hashes = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)].map((m) => `'sha256-${createHash("sha256").update(m[1]!).digest("base64")}'`);
  return [
    "default-src 'self'",
    `script-src ${hashes.length > 0 ? hashes.join(" ") : "'none'"}`,
    "img-src 'self' data:",
    "style-src 'self' 'unsafe-inline'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

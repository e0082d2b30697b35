/**
 * Debian's Chromium driven by playwright-core (no browser download): `apt-get install chromium`;
 * .ci/run installs it where missing. Without it the browser tests are skipped with a message,
 * except in CI (`CI=true`), where they are mandatory.
 */
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Whether the browser tests run here; says why not when they do not. */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === "true") throw new Error(`${CHROMIUM} is missing: CI must install chromium (apt-get install -y chromium)`);
  console.warn(`browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
  return false;
}

/**
 * Headless, in a fresh profile: playwright adds --headless and its own --user-data-dir (a temporary
 * directory it deletes; it refuses one passed in `args`). --no-sandbox because CI runs as root.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
}

/**
 * Everything the reliability suite captures (log lines, command output, HTTP answers) goes to one
 * file per test process, so the secrets test can grep all of it at the end. Every config the suite
 * writes carries the same secrets, so any leak anywhere shows up there.
 */
import { expect, test } from "bun:test";
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Put in every config and environment of the suite; must never come out of the service. */
export const SECRETS = {
  databasePassword: "Db#Pa55-zq8rT5kV2w",
  apiKey: "CG-k3y-7f1d9a0b2c4e6a8b",
} as const;

/** Every form in which a secret could leak (the password also URL-encoded). */
export const SECRET_FORMS: readonly string[] = [SECRETS.databasePassword, encodeURIComponent(SECRETS.databasePassword), SECRETS.apiKey];

const DIR = join(tmpdir(), `cryptointellect-reliability-${process.pid}`);
export const CAPTURE_FILE = join(DIR, "captured.log");
mkdirSync(DIR, { recursive: true });
// Kept after the run for inspection; those of test processes that have ended go at the next start
// (bun test exits without the process's exit events).
for (const name of readdirSync(tmpdir())) {
  const pid = /^cryptointellect-reliability-(\d+)$/.exec(name)?.[1];
  if (pid && Number(pid) !== process.pid && !existsSync(`/proc/${pid}`)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
}

let captured = 0;

/** Records text some part of the service produced, labelled with where it came from. */
export function capture(source: string, text: string): void {
  if (text.length === 0) return;
  captured += text.length;
  appendFileSync(CAPTURE_FILE, `--- ${source}\n${text}${text.endsWith("\n") ? "" : "\n"}`);
}

/** Characters captured by this process so far (a suite that captured nothing proves nothing). */
export function capturedChars(): number {
  return existsSync(CAPTURE_FILE) ? readFileSync(CAPTURE_FILE, "utf8").length : captured;
}

/** Lines of everything captured that contain a secret, in any form. */
export function secretLeaks(text = existsSync(CAPTURE_FILE) ? readFileSync(CAPTURE_FILE, "utf8") : ""): string[] {
  return text.split("\n").filter((line) => SECRET_FORMS.some((s) => line.includes(s)));
}

/**
 * Defines, where it is called (the end of a test file), a test that greps everything captured so far
 * in this process for the secrets. Every reliability file ends with it, since `bun test` does not run
 * files in a fixed order: whichever runs last sweeps what all of them captured.
 */
export function sweepSecretsHere(): void {
  test("no secret in anything the suite captured so far (logs, command output, HTTP answers)", () => {
    const leaks = secretLeaks();
    if (leaks.length > 0) console.error(`secrets found in ${CAPTURE_FILE}:\n${leaks.slice(0, 10).join("\n")}`);
    expect(capturedChars()).toBeGreaterThan(0);
    expect(leaks).toEqual([]);
  });
}

/**
 * The sweep: every log line, command output and HTTP answer the reliability suite captured in this
 * process (tests/reliability/helpers/capture.ts) is grepped for the secrets every config carried.
 * `bun test` runs files in no fixed order, so every reliability file also ends with the same sweep
 * (`sweepSecretsHere`): whichever file runs last sweeps what all of them captured.
 */
import { describe, expect, test } from "bun:test";
import { CAPTURE_FILE, capturedChars, SECRETS, secretLeaks } from "./helpers/capture.ts";

describe("secrets", () => {
  test("the detector finds a secret when there is one (the sweep can fail)", () => {
    expect(secretLeaks(`ok\nGET /api?x_cg_demo_api_key=${SECRETS.apiKey}\nok`)).toHaveLength(1);
    expect(secretLeaks(`postgres://ci:${encodeURIComponent(SECRETS.databasePassword)}@host`)).toHaveLength(1);
  });

  test("no secret in anything the suite captured: logs, command output, /health, /metrics, /metadata, errors", () => {
    const leaks = secretLeaks();
    if (leaks.length > 0) console.error(`secrets found in ${CAPTURE_FILE}:\n${leaks.slice(0, 10).join("\n")}`);
    expect(leaks).toEqual([]);
    // Nothing captured yet when this file happens to run first; the other files' sweeps cover it.
    console.log(`swept ${capturedChars()} captured characters in ${CAPTURE_FILE}`);
  });
});

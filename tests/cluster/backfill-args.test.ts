/** `backfill` against a cluster takes the same arguments, but only the exchanges its instances collect. */
import { describe, expect, test } from "bun:test";
import { checkClusterExchanges, parseBackfillArgs } from "../../src/cli/backfill-command.ts";
import { parseConfig } from "../../src/config/config.ts";
import { UsageError } from "../../src/errors.ts";

const config = parseConfig(
  ["exchanges: [binance, kraken]", "save_to_database: true", "database_connection: postgres://u@127.0.0.1:5432/ci", "cluster:", "  enabled: true"].join("\n"),
  "cluster.yml",
);
const now = Date.parse("2024-03-08T12:00:00Z");

describe("cluster backfill arguments", () => {
  test("the config's exchanges, or none named, pass", () => {
    expect(() => checkClusterExchanges(config, parseBackfillArgs(["--from", "2024-03-01", "--exchange", "kraken"], now))).not.toThrow();
    expect(() => checkClusterExchanges(config, parseBackfillArgs(["--repair"], now))).not.toThrow();
  });

  test("an exchange the instances do not collect is a usage error (exit 2), not jobs that wait forever", () => {
    const check = () => checkClusterExchanges(config, parseBackfillArgs(["--from", "2024-03-01", "--exchange", "binance,kucoin"], now));
    expect(check).toThrow(UsageError);
    expect(check).toThrow("kucoin is not in exchanges (binance, kraken)");
  });
});

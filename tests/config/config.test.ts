import { describe, expect, test } from "bun:test";
import { configSecrets, DEFAULT_SQLITE_URL, parseConfig, renderConfig } from "../../src/config.ts";
import { redactDatabaseUrl } from "../../src/db/url.ts";
import { ConfigError } from "../../src/errors.ts";

function problems(text: string, env = {}): string[] {
  try {
    parseConfig(text, "cfg.yml", env);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((i) => `${i.path}: ${i.message}`);
    throw error;
  }
  throw new Error("expected the config to be rejected");
}

describe("config", () => {
  test("applies the original defaults when no file is given", () => {
    const c = parseConfig(undefined, "defaults", {});
    expect(c.bucketIntervalMinutes).toBe(1);
    expect(c.exchanges.length).toBeGreaterThanOrEqual(1);
    expect(c.coinsToPoll).toEqual(["Safemoon", "Neo", "Optimism"]);
    expect(c.topN).toBe(30);
    expect(c.saveToCsv).toBe(true);
    expect(c.saveToDatabase).toBe(false);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.csvDirectory).toBe("./cryptointellect/csv");
    expect(c.quoteCurrencies).toEqual({ binance: ["USDT", "USD"], kraken: ["USD", "USDT"], kucoin: ["USDT", "USD"], poloniex: ["USDT", "USD"] });
    expect(c.http).toEqual({ host: "0.0.0.0", port: 8080 });
    expect(c.catchUpLimitMinutes).toBe(1440);
    expect(c.settleSeconds).toBe(5);
  });

  test("reads every original field", () => {
    const c = parseConfig(
      `bucketing_interval: 7m
exchanges: [binance]
database_connection: postgres://u:p@db/x
list_coins_to_poll: [Neo, Optimism]
n_coins_to_poll: 5
save_to_csv: false
save_to_database: true
`,
      "cfg.yml",
    );
    expect(c).toMatchObject({ bucketIntervalMinutes: 7, exchanges: ["binance"], databaseUrl: "postgres://u:p@db/x", coinsToPoll: ["Neo", "Optimism"], topN: 5, saveToCsv: false, saveToDatabase: true });
  });

  test("accepts the aliases bucket_interval and list_coins_to_pull, and exchange names in any case", () => {
    const c = parseConfig("bucket_interval: 2H\nlist_coins_to_pull: [BTC]\nexchanges: [BINANCE]\n", "cfg.yml");
    expect(c.bucketIntervalMinutes).toBe(120);
    expect(c.coinsToPoll).toEqual(["BTC"]);
    expect(c.exchanges).toEqual(["binance"]);
  });

  test("treats a null or empty coin list as no named coins", () => {
    expect(parseConfig("list_coins_to_poll:\n", "cfg.yml").coinsToPoll).toEqual([]);
    expect(parseConfig("list_coins_to_poll: []\n", "cfg.yml").coinsToPoll).toEqual([]);
  });

  test("uses the embedded SQLite file for database mode without a connection", () => {
    expect(parseConfig("save_to_database: true\n", "cfg.yml").databaseUrl).toBe(DEFAULT_SQLITE_URL);
  });

  test("lets the environment override the database URL, base URLs and API key", () => {
    const c = parseConfig("save_to_database: true\ndatabase_connection: sqlite:a.db\n", "cfg.yml", {
      DATABASE_URL: "postgres://x@h/db",
      CRYPTOINTELLECT_BINANCE_URL: "http://127.0.0.1:9700/binance",
      COINGECKO_API_KEY: "CG-secret",
    });
    expect(c.databaseUrl).toBe("postgres://x@h/db");
    expect(c.apiBaseUrls.binance).toBe("http://127.0.0.1:9700/binance");
    expect(c.coingeckoApiKey).toBe("CG-secret");
  });

  test("lists every problem at once with its field path", () => {
    const found = problems("bucketing_interval: 0m\nexchanges: [Binance, Bitfinexx]\nn_coins_to_poll: ten\nfoo: 1\n");
    expect(found).toHaveLength(4);
    expect(found.join("\n")).toContain("bucketing_interval:");
    expect(found.join("\n")).toContain("exchanges[1]: unknown exchange");
    expect(found.join("\n")).toContain("n_coins_to_poll: expected number");
    expect(found.join("\n")).toContain("foo: unknown field");
  });

  test("refuses a config that saves nowhere", () => {
    expect(problems("save_to_csv: false\nsave_to_database: false\n")[0]).toContain("nothing would be saved");
  });

  test("refuses both an option and its alias", () => {
    expect(problems("bucketing_interval: 5m\nbucket_interval: 5m\n")[0]).toContain("alias");
  });

  test("refuses YAML anchors and aliases (the way to a YAML bomb)", () => {
    expect(problems('a: &a ["x","x"]\nb: &b [*a,*a]\n')[0]).toContain("anchors");
  });

  test("renders the effective config with the password and API key redacted", () => {
    const c = parseConfig("save_to_database: true\ndatabase_connection: postgres://admin:hunter2secret@db:5432/ci\ncoingecko_api_key: CG-abcdef\n", "cfg.yml");
    const text = renderConfig(c);
    expect(text).not.toContain("hunter2secret");
    expect(text).not.toContain("CG-abcdef");
    expect(text).toContain("postgres://admin:***@db:5432/ci");
    expect(configSecrets(c)).toContain("hunter2secret");
    expect(redactDatabaseUrl("mysql+pymysql://root:pw@h/db")).toBe("mysql+pymysql://root:***@h/db");
  });
});

describe("config: exchanges beyond the native four", () => {
  test("takes any ccxt id with candles, case-insensitive, collected through ccxt", () => {
    const c = parseConfig("exchanges: [Binance, OKX, coinbase, ByBit]\n", "cfg.yml");
    expect(c.exchanges).toEqual(["binance", "okx", "coinbase", "bybit"]);
    expect(c.exchangeAdapters).toEqual({ binance: "native", okx: "ccxt", coinbase: "ccxt", bybit: "ccxt" });
  });

  test("an unknown id is refused naming it and suggesting the closest ids", () => {
    const found = problems("exchanges: [okz, binanse]\n");
    expect(found).toHaveLength(2);
    expect(found[0]).toContain('exchanges[0]: unknown exchange "okz" (did you mean okx');
    expect(found[1]).toContain("did you mean binance");
  });

  test("an id ccxt knows without candles is refused", () => {
    const ccxt = require("ccxt");
    const without = (ccxt.exchanges as string[]).find((id) => new ccxt[id]().has.fetchOHLCV !== true)!;
    expect(without).toBeDefined();
    expect(problems(`exchanges: [${without}]\n`)[0]).toContain("no fetchOHLCV");
  });

  test("exchange_adapters forces ccxt for a native exchange and refuses native for a ccxt one", () => {
    const c = parseConfig("exchanges: [binance, okx]\nexchange_adapters: {binance: ccxt}\n", "cfg.yml");
    expect(c.exchangeAdapters).toEqual({ binance: "ccxt", okx: "ccxt" });
    expect(renderConfig(c)).toContain("exchange_adapters:\n  binance: ccxt");
    expect(problems("exchanges: [okx]\nexchange_adapters: {okx: native}\n")[0]).toContain("no native adapter for okx");
    expect(problems("exchanges: [binance]\nexchange_adapters: {kraken: ccxt}\n")[0]).toContain("exchange_adapters.kraken");
  });

  test("api_base_urls takes configured ccxt ids and refuses others", () => {
    const c = parseConfig("exchanges: [okx]\napi_base_urls: {okx: 'http://127.0.0.1:9700/okx'}\n", "cfg.yml");
    expect(c.apiBaseUrls.okx).toBe("http://127.0.0.1:9700/okx");
    expect(problems("exchanges: [binance]\napi_base_urls: {okx: 'http://127.0.0.1:9700/okx'}\n")[0]).toContain("api_base_urls.okx");
  });

  test("quote preference: USD first where the main books are in USD, overridable per exchange or for all", () => {
    const c = parseConfig("exchanges: [binance, coinbase]\n", "cfg.yml");
    expect(c.quoteCurrencies).toEqual({ binance: ["USDT", "USD"], coinbase: ["USD", "USDT", "USDC"] });
    const all = parseConfig("exchanges: [binance, coinbase]\nquote_currencies: [usdc]\n", "cfg.yml");
    expect(all.quoteCurrencies).toEqual({ binance: ["USDC"], coinbase: ["USDC"] });
    const map = parseConfig("exchanges: [binance, coinbase]\nquote_currencies: {default: [EUR], coinbase: [USDC]}\n", "cfg.yml");
    expect(map.quoteCurrencies).toEqual({ binance: ["EUR"], coinbase: ["USDC"] });
  });

  test("a config of the native four never loads ccxt", () => {
    const probe = Bun.spawnSync(["bun", "-e", "await import('./src/config.ts').then((m) => m.parseConfig('exchanges: [binance, kraken]\\n', 'x')); await import('./src/collector/runtime.ts'); console.log(Object.keys(require.cache).some((k) => k.includes('/ccxt/')))"], { cwd: `${import.meta.dir}/../..` });
    expect(probe.stdout.toString().trim()).toBe("false");
  });
});

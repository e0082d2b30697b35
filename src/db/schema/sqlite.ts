import { index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Embedded SQLite: the four tables of SPEC section 6. SQLite has no timestamp type: times are
 * integer milliseconds since the Unix epoch, UTC (`datetime(timestamp / 1000, 'unixepoch')` shows them).
 */
const utc = (name: string) => integer(name, { mode: "timestamp_ms" });

export const coins = sqliteTable("coins", {
  coin: text("coin").primaryKey(),
  name: text("name").notNull(),
  marketCap: integer("market_cap"),
  dateAdded: utc("date_added").notNull(),
});

export const exchanges = sqliteTable("exchanges", {
  exchange: text("exchange").primaryKey(),
});

export const klinesData = sqliteTable(
  "klines_data",
  {
    exchange: text("exchange")
      .notNull()
      .references(() => exchanges.exchange),
    coin: text("coin")
      .notNull()
      .references(() => coins.coin),
    /** The bucket's END (open time + interval), as the CSV `TimeStamp`. */
    timestamp: utc("timestamp").notNull(),
    openPrice: real("open_price").notNull(),
    highPrice: real("high_price").notNull(),
    lowPrice: real("low_price").notNull(),
    closePrice: real("close_price").notNull(),
    volume: real("volume").notNull(),
    bucketInterval: integer("bucket_interval").notNull(),
    filled: integer("filled", { mode: "boolean" }).notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.exchange, t.coin, t.bucketInterval, t.timestamp] }), index("klines_data_coin_time_idx").on(t.coin, t.bucketInterval, t.timestamp)],
);

export const metadata = sqliteTable("metadata", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  effectiveFrom: utc("effective_from").notNull(),
  effectiveTo: utc("effective_to"),
  assertiveFrom: utc("assertive_from").notNull(),
  assertiveTo: utc("assertive_to"),
  rowsPerMinute: real("rows_per_minute").notNull(),
  numberOfCoinsTracked: integer("number_of_coins_tracked").notNull(),
  numberOfExchangesTracked: integer("number_of_exchanges_tracked").notNull(),
  bucketInterval: integer("bucket_interval").notNull(),
});

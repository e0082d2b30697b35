import { boolean, doublePrecision, index, integer, pgTable, primaryKey, serial, bigint, text, timestamp } from "drizzle-orm/pg-core";

/** PostgreSQL (and compatible engines): the four tables of SPEC section 6. */
const utc = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const coins = pgTable("coins", {
  coin: text("coin").primaryKey(),
  name: text("name").notNull(),
  marketCap: bigint("market_cap", { mode: "number" }),
  dateAdded: utc("date_added").notNull(),
});

export const exchanges = pgTable("exchanges", {
  exchange: text("exchange").primaryKey(),
});

export const klinesData = pgTable(
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
    openPrice: doublePrecision("open_price").notNull(),
    highPrice: doublePrecision("high_price").notNull(),
    lowPrice: doublePrecision("low_price").notNull(),
    closePrice: doublePrecision("close_price").notNull(),
    volume: doublePrecision("volume").notNull(),
    bucketInterval: integer("bucket_interval").notNull(),
    filled: boolean("filled").notNull().default(false),
  },
  (t) => [
    // Serves one series over a time range and its latest bucket (ORDER BY timestamp DESC LIMIT 1).
    primaryKey({ columns: [t.exchange, t.coin, t.bucketInterval, t.timestamp] }),
    // Serves one coin across exchanges over a time range.
    index("klines_data_coin_time_idx").on(t.coin, t.bucketInterval, t.timestamp),
  ],
);

export const metadata = pgTable("metadata", {
  id: serial("id").primaryKey(),
  effectiveFrom: utc("effective_from").notNull(),
  effectiveTo: utc("effective_to"),
  assertiveFrom: utc("assertive_from").notNull(),
  assertiveTo: utc("assertive_to"),
  rowsPerMinute: doublePrecision("rows_per_minute").notNull(),
  numberOfCoinsTracked: integer("number_of_coins_tracked").notNull(),
  numberOfExchangesTracked: integer("number_of_exchanges_tracked").notNull(),
  bucketInterval: integer("bucket_interval").notNull(),
});

import { bigint, boolean, datetime, double, index, int, mysqlTable, primaryKey, varchar } from "drizzle-orm/mysql-core";

/**
 * MySQL and MariaDB: the four tables of SPEC section 6. MySQL has no timestamptz: times are
 * `datetime(3)` holding UTC (MySQL's `timestamp` type would shift with the session time zone and end in 2038).
 */
const utc = (name: string) => datetime(name, { mode: "date", fsp: 3 });

export const coins = mysqlTable("coins", {
  coin: varchar("coin", { length: 64 }).primaryKey(),
  name: varchar("name", { length: 255 }).notNull(),
  marketCap: bigint("market_cap", { mode: "number" }),
  dateAdded: utc("date_added").notNull(),
});

export const exchanges = mysqlTable("exchanges", {
  exchange: varchar("exchange", { length: 32 }).primaryKey(),
});

export const klinesData = mysqlTable(
  "klines_data",
  {
    exchange: varchar("exchange", { length: 32 })
      .notNull()
      .references(() => exchanges.exchange),
    coin: varchar("coin", { length: 64 })
      .notNull()
      .references(() => coins.coin),
    /** The bucket's END (open time + interval), as the CSV `TimeStamp`. */
    timestamp: utc("timestamp").notNull(),
    openPrice: double("open_price").notNull(),
    highPrice: double("high_price").notNull(),
    lowPrice: double("low_price").notNull(),
    closePrice: double("close_price").notNull(),
    volume: double("volume").notNull(),
    bucketInterval: int("bucket_interval").notNull(),
    filled: boolean("filled").notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.exchange, t.coin, t.bucketInterval, t.timestamp] }), index("klines_data_coin_time_idx").on(t.coin, t.bucketInterval, t.timestamp)],
);

export const metadata = mysqlTable("metadata", {
  id: int("id").autoincrement().primaryKey(),
  effectiveFrom: utc("effective_from").notNull(),
  effectiveTo: utc("effective_to"),
  assertiveFrom: utc("assertive_from").notNull(),
  assertiveTo: utc("assertive_to"),
  rowsPerMinute: double("rows_per_minute").notNull(),
  numberOfCoinsTracked: int("number_of_coins_tracked").notNull(),
  numberOfExchangesTracked: int("number_of_exchanges_tracked").notNull(),
  bucketInterval: int("bucket_interval").notNull(),
});

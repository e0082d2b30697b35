-- Custom SQL migration: the original Crypto-Intellect's table and column names (SPEC section 10,
-- docs/original-sql-names.md). SQLite compares identifiers without case, so `Klines_Data` already
-- IS `klines_data` (a view of that name cannot exist), and `Exchange`, `Coin`, `TimeStamp`, `Volume`,
-- `Bucket_Interval`, `Date_Added` and every MetaData column already resolve to ours. Only the names
-- that differ are added, as VIRTUAL generated columns: no storage, computed when read, never written.
-- A migration that rebuilds one of these tables must add them again (tests/db/original-sql-names.test.ts).
ALTER TABLE `klines_data` ADD COLUMN `Unique_ID` text GENERATED ALWAYS AS (strftime('%Y-%m-%d %H:%M:%S', `timestamp` / 1000, 'unixepoch') || '_' || `coin` || '_' || `exchange` || '_' || `bucket_interval` || '.0') VIRTUAL;
--> statement-breakpoint
ALTER TABLE `klines_data` ADD COLUMN `OpenPrice` real GENERATED ALWAYS AS (`open_price`) VIRTUAL;
--> statement-breakpoint
ALTER TABLE `klines_data` ADD COLUMN `HighPrice` real GENERATED ALWAYS AS (`high_price`) VIRTUAL;
--> statement-breakpoint
ALTER TABLE `klines_data` ADD COLUMN `LowPrice` real GENERATED ALWAYS AS (`low_price`) VIRTUAL;
--> statement-breakpoint
ALTER TABLE `klines_data` ADD COLUMN `ClosePrice` real GENERATED ALWAYS AS (`close_price`) VIRTUAL;
--> statement-breakpoint
ALTER TABLE `coins` ADD COLUMN `MarketCap` integer GENERATED ALWAYS AS (`market_cap`) VIRTUAL;
--> statement-breakpoint
ALTER TABLE `coins` ADD COLUMN `DataAdded` integer GENERATED ALWAYS AS (`date_added`) VIRTUAL;

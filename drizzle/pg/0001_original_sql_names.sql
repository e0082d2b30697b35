-- Custom SQL migration: the original Crypto-Intellect's table and column names, as read-only views
-- over our tables (SPEC section 10, docs/original-sql-names.md). Mixed-case names are quoted, as
-- SQLAlchemy created them: SELECT "OpenPrice" FROM "Klines_Data".
-- Each view selects from a subquery: PostgreSQL then refuses INSERT, UPDATE and DELETE through it,
-- and still inlines it, so a WHERE on the view uses the table's indexes.
-- A table already holding an original name (the original's own data, in the same database) is left
-- alone: that view is skipped with a NOTICE instead of failing the migration.
DO $$ BEGIN
CREATE OR REPLACE VIEW "Klines_Data" AS
SELECT
	to_char(k."timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '_' || k.coin || '_' || k.exchange || '_' || k.bucket_interval || '.0' AS "Unique_ID",
	k.exchange AS "Exchange",
	k.coin AS "Coin",
	k."timestamp" AS "TimeStamp",
	k.open_price AS "OpenPrice",
	k.high_price AS "HighPrice",
	k.low_price AS "LowPrice",
	k.close_price AS "ClosePrice",
	k.volume AS "Volume",
	k.bucket_interval AS "Bucket_Interval"
FROM (SELECT exchange, coin, "timestamp", open_price, high_price, low_price, close_price, volume, bucket_interval FROM klines_data) AS k;
EXCEPTION WHEN wrong_object_type THEN RAISE NOTICE 'kept the existing table "Klines_Data"; no view created';
END $$;
--> statement-breakpoint
DO $$ BEGIN
CREATE OR REPLACE VIEW "Coins" AS
SELECT
	c.coin AS "Coin",
	c.market_cap AS "MarketCap",
	c.date_added AS "DataAdded",
	c.date_added AS "Date_Added"
FROM (SELECT coin, market_cap, date_added FROM coins) AS c;
EXCEPTION WHEN wrong_object_type THEN RAISE NOTICE 'kept the existing table "Coins"; no view created';
END $$;
--> statement-breakpoint
DO $$ BEGIN
CREATE OR REPLACE VIEW "Exchanges" AS
SELECT e.exchange AS "Exchange"
FROM (SELECT exchange FROM exchanges) AS e;
EXCEPTION WHEN wrong_object_type THEN RAISE NOTICE 'kept the existing table "Exchanges"; no view created';
END $$;
--> statement-breakpoint
DO $$ BEGIN
CREATE OR REPLACE VIEW "MetaData" AS
SELECT
	m.id AS "Id",
	m.effective_from AS "Effective_From",
	m.effective_to AS "Effective_To",
	m.assertive_from AS "Assertive_From",
	m.assertive_to AS "Assertive_To",
	m.rows_per_minute AS "Rows_per_Minute",
	m.number_of_coins_tracked AS "Number_of_Coins_Tracked",
	m.number_of_exchanges_tracked AS "Number_of_Exchanges_Tracked",
	m.bucket_interval AS "Bucket_Interval"
FROM (SELECT id, effective_from, effective_to, assertive_from, assertive_to, rows_per_minute, number_of_coins_tracked, number_of_exchanges_tracked, bucket_interval FROM metadata) AS m;
EXCEPTION WHEN wrong_object_type THEN RAISE NOTICE 'kept the existing table "MetaData"; no view created';
END $$;

-- Custom SQL migration: the original Crypto-Intellect's table and column names (SPEC section 10,
-- docs/original-sql-names.md), chosen by the server's lower_case_table_names:
--  * 0 (Linux): `Klines_Data` and `klines_data` are different tables, so the original names are
--    read-only views over ours. A view selects from a derived table, which MySQL and MariaDB refuse
--    to write through and still merge, so a WHERE on it uses the table's indexes. A base table that
--    already holds an original name (the original's own data, in the same database) is kept: that
--    view is skipped.
--  * 1 or 2: `Klines_Data` IS `klines_data`, and column names never depend on case, so only the
--    columns whose names differ are added, as VIRTUAL generated columns (no storage, never written).
-- MySQL runs one statement per PREPARE, hence the SET / PREPARE / EXECUTE / DEALLOCATE quartets.
SET @ci_original_names = IF(@@lower_case_table_names <> 0,
	'ALTER TABLE `klines_data`
		ADD COLUMN `Unique_ID` varchar(160) AS (CONCAT(DATE_FORMAT(`timestamp`, ''%Y-%m-%d %H:%i:%s''), ''_'', `coin`, ''_'', `exchange`, ''_'', `bucket_interval`, ''.0'')) VIRTUAL,
		ADD COLUMN `OpenPrice` double AS (`open_price`) VIRTUAL,
		ADD COLUMN `HighPrice` double AS (`high_price`) VIRTUAL,
		ADD COLUMN `LowPrice` double AS (`low_price`) VIRTUAL,
		ADD COLUMN `ClosePrice` double AS (`close_price`) VIRTUAL',
	IF(EXISTS (SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND CAST(TABLE_NAME AS BINARY) = 'Klines_Data' AND TABLE_TYPE <> 'VIEW'),
		'DO 0',
		'CREATE OR REPLACE SQL SECURITY INVOKER VIEW `Klines_Data` AS
		SELECT
			CONCAT(DATE_FORMAT(k.`timestamp`, ''%Y-%m-%d %H:%i:%s''), ''_'', k.`coin`, ''_'', k.`exchange`, ''_'', k.`bucket_interval`, ''.0'') AS `Unique_ID`,
			k.`exchange` AS `Exchange`,
			k.`coin` AS `Coin`,
			k.`timestamp` AS `TimeStamp`,
			k.`open_price` AS `OpenPrice`,
			k.`high_price` AS `HighPrice`,
			k.`low_price` AS `LowPrice`,
			k.`close_price` AS `ClosePrice`,
			k.`volume` AS `Volume`,
			k.`bucket_interval` AS `Bucket_Interval`
		FROM (SELECT `exchange`, `coin`, `timestamp`, `open_price`, `high_price`, `low_price`, `close_price`, `volume`, `bucket_interval` FROM `klines_data`) AS k'));
--> statement-breakpoint
PREPARE ci_original_names FROM @ci_original_names;
--> statement-breakpoint
EXECUTE ci_original_names;
--> statement-breakpoint
DEALLOCATE PREPARE ci_original_names;
--> statement-breakpoint
SET @ci_original_names = IF(@@lower_case_table_names <> 0,
	'ALTER TABLE `coins`
		ADD COLUMN `MarketCap` bigint AS (`market_cap`) VIRTUAL,
		ADD COLUMN `DataAdded` datetime(3) AS (`date_added`) VIRTUAL',
	IF(EXISTS (SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND CAST(TABLE_NAME AS BINARY) = 'Coins' AND TABLE_TYPE <> 'VIEW'),
		'DO 0',
		'CREATE OR REPLACE SQL SECURITY INVOKER VIEW `Coins` AS
		SELECT c.`coin` AS `Coin`, c.`market_cap` AS `MarketCap`, c.`date_added` AS `DataAdded`, c.`date_added` AS `Date_Added`
		FROM (SELECT `coin`, `market_cap`, `date_added` FROM `coins`) AS c'));
--> statement-breakpoint
PREPARE ci_original_names FROM @ci_original_names;
--> statement-breakpoint
EXECUTE ci_original_names;
--> statement-breakpoint
DEALLOCATE PREPARE ci_original_names;
--> statement-breakpoint
SET @ci_original_names = IF(@@lower_case_table_names <> 0
		OR EXISTS (SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND CAST(TABLE_NAME AS BINARY) = 'Exchanges' AND TABLE_TYPE <> 'VIEW'),
	'DO 0',
	'CREATE OR REPLACE SQL SECURITY INVOKER VIEW `Exchanges` AS
	SELECT e.`exchange` AS `Exchange`
	FROM (SELECT `exchange` FROM `exchanges`) AS e');
--> statement-breakpoint
PREPARE ci_original_names FROM @ci_original_names;
--> statement-breakpoint
EXECUTE ci_original_names;
--> statement-breakpoint
DEALLOCATE PREPARE ci_original_names;
--> statement-breakpoint
SET @ci_original_names = IF(@@lower_case_table_names <> 0
		OR EXISTS (SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND CAST(TABLE_NAME AS BINARY) = 'MetaData' AND TABLE_TYPE <> 'VIEW'),
	'DO 0',
	'CREATE OR REPLACE SQL SECURITY INVOKER VIEW `MetaData` AS
	SELECT
		m.`id` AS `Id`,
		m.`effective_from` AS `Effective_From`,
		m.`effective_to` AS `Effective_To`,
		m.`assertive_from` AS `Assertive_From`,
		m.`assertive_to` AS `Assertive_To`,
		m.`rows_per_minute` AS `Rows_per_Minute`,
		m.`number_of_coins_tracked` AS `Number_of_Coins_Tracked`,
		m.`number_of_exchanges_tracked` AS `Number_of_Exchanges_Tracked`,
		m.`bucket_interval` AS `Bucket_Interval`
	FROM (SELECT `id`, `effective_from`, `effective_to`, `assertive_from`, `assertive_to`, `rows_per_minute`, `number_of_coins_tracked`, `number_of_exchanges_tracked`, `bucket_interval` FROM `metadata`) AS m');
--> statement-breakpoint
PREPARE ci_original_names FROM @ci_original_names;
--> statement-breakpoint
EXECUTE ci_original_names;
--> statement-breakpoint
DEALLOCATE PREPARE ci_original_names;

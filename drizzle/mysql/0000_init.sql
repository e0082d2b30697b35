CREATE TABLE `coins` (
	`coin` varchar(64) NOT NULL,
	`name` varchar(255) NOT NULL,
	`market_cap` bigint,
	`date_added` datetime(3) NOT NULL,
	CONSTRAINT `coins_coin` PRIMARY KEY(`coin`)
);
--> statement-breakpoint
CREATE TABLE `exchanges` (
	`exchange` varchar(32) NOT NULL,
	CONSTRAINT `exchanges_exchange` PRIMARY KEY(`exchange`)
);
--> statement-breakpoint
CREATE TABLE `klines_data` (
	`exchange` varchar(32) NOT NULL,
	`coin` varchar(64) NOT NULL,
	`timestamp` datetime(3) NOT NULL,
	`open_price` double NOT NULL,
	`high_price` double NOT NULL,
	`low_price` double NOT NULL,
	`close_price` double NOT NULL,
	`volume` double NOT NULL,
	`bucket_interval` int NOT NULL,
	`filled` boolean NOT NULL DEFAULT false,
	CONSTRAINT `klines_data_exchange_coin_bucket_interval_timestamp_pk` PRIMARY KEY(`exchange`,`coin`,`bucket_interval`,`timestamp`)
);
--> statement-breakpoint
CREATE TABLE `metadata` (
	`id` int AUTO_INCREMENT NOT NULL,
	`effective_from` datetime(3) NOT NULL,
	`effective_to` datetime(3),
	`assertive_from` datetime(3) NOT NULL,
	`assertive_to` datetime(3),
	`rows_per_minute` double NOT NULL,
	`number_of_coins_tracked` int NOT NULL,
	`number_of_exchanges_tracked` int NOT NULL,
	`bucket_interval` int NOT NULL,
	CONSTRAINT `metadata_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
ALTER TABLE `klines_data` ADD CONSTRAINT `klines_data_exchange_exchanges_exchange_fk` FOREIGN KEY (`exchange`) REFERENCES `exchanges`(`exchange`) ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `klines_data` ADD CONSTRAINT `klines_data_coin_coins_coin_fk` FOREIGN KEY (`coin`) REFERENCES `coins`(`coin`) ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX `klines_data_coin_time_idx` ON `klines_data` (`coin`,`bucket_interval`,`timestamp`);
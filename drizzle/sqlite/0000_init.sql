CREATE TABLE `coins` (
	`coin` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`market_cap` integer,
	`date_added` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `exchanges` (
	`exchange` text PRIMARY KEY NOT NULL
);
--> statement-breakpoint
CREATE TABLE `klines_data` (
	`exchange` text NOT NULL,
	`coin` text NOT NULL,
	`timestamp` integer NOT NULL,
	`open_price` real NOT NULL,
	`high_price` real NOT NULL,
	`low_price` real NOT NULL,
	`close_price` real NOT NULL,
	`volume` real NOT NULL,
	`bucket_interval` integer NOT NULL,
	`filled` integer DEFAULT false NOT NULL,
	PRIMARY KEY(`exchange`, `coin`, `bucket_interval`, `timestamp`),
	FOREIGN KEY (`exchange`) REFERENCES `exchanges`(`exchange`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`coin`) REFERENCES `coins`(`coin`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `klines_data_coin_time_idx` ON `klines_data` (`coin`,`bucket_interval`,`timestamp`);--> statement-breakpoint
CREATE TABLE `metadata` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`effective_from` integer NOT NULL,
	`effective_to` integer,
	`assertive_from` integer NOT NULL,
	`assertive_to` integer,
	`rows_per_minute` real NOT NULL,
	`number_of_coins_tracked` integer NOT NULL,
	`number_of_exchanges_tracked` integer NOT NULL,
	`bucket_interval` integer NOT NULL
);

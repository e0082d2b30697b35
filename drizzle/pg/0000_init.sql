CREATE TABLE "coins" (
	"coin" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"market_cap" bigint,
	"date_added" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "exchanges" (
	"exchange" text PRIMARY KEY NOT NULL
);
--> statement-breakpoint
CREATE TABLE "klines_data" (
	"exchange" text NOT NULL,
	"coin" text NOT NULL,
	"timestamp" timestamp with time zone NOT NULL,
	"open_price" double precision NOT NULL,
	"high_price" double precision NOT NULL,
	"low_price" double precision NOT NULL,
	"close_price" double precision NOT NULL,
	"volume" double precision NOT NULL,
	"bucket_interval" integer NOT NULL,
	"filled" boolean DEFAULT false NOT NULL,
	CONSTRAINT "klines_data_exchange_coin_bucket_interval_timestamp_pk" PRIMARY KEY("exchange","coin","bucket_interval","timestamp")
);
--> statement-breakpoint
CREATE TABLE "metadata" (
	"id" serial PRIMARY KEY NOT NULL,
	"effective_from" timestamp with time zone NOT NULL,
	"effective_to" timestamp with time zone,
	"assertive_from" timestamp with time zone NOT NULL,
	"assertive_to" timestamp with time zone,
	"rows_per_minute" double precision NOT NULL,
	"number_of_coins_tracked" integer NOT NULL,
	"number_of_exchanges_tracked" integer NOT NULL,
	"bucket_interval" integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE "klines_data" ADD CONSTRAINT "klines_data_exchange_exchanges_exchange_fk" FOREIGN KEY ("exchange") REFERENCES "public"."exchanges"("exchange") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "klines_data" ADD CONSTRAINT "klines_data_coin_coins_coin_fk" FOREIGN KEY ("coin") REFERENCES "public"."coins"("coin") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "klines_data_coin_time_idx" ON "klines_data" USING btree ("coin","bucket_interval","timestamp");
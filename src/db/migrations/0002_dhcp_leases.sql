CREATE TABLE `leases` (
	`ip` text PRIMARY KEY NOT NULL,
	`ip_number` integer NOT NULL,
	`mac` text NOT NULL,
	`client_id` text,
	`hostname` text,
	`subnet` text NOT NULL,
	`state` text NOT NULL,
	`starts_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `leases_ip_number_unique` ON `leases` (`ip_number`);--> statement-breakpoint
CREATE INDEX `leases_mac` ON `leases` (`mac`);
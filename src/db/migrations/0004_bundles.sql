CREATE TABLE `bundles` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`version` text NOT NULL,
	`signer_key_id` text NOT NULL,
	`manifest_sha256` text NOT NULL,
	`manifest` text NOT NULL,
	`summary` text NOT NULL,
	`imported_by` text NOT NULL,
	`imported_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `bundles_name` ON `bundles` (`name`,`imported_at`);--> statement-breakpoint
CREATE TABLE `trusted_keys` (
	`key_id` text PRIMARY KEY NOT NULL,
	`public_key` text NOT NULL,
	`name` text NOT NULL,
	`added_by` text NOT NULL,
	`added_at` integer NOT NULL,
	`revoked_at` integer
);

CREATE TABLE `profiles` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`os_family` text NOT NULL,
	`kernel` text NOT NULL,
	`initrd` text NOT NULL,
	`artifacts` text NOT NULL,
	`cmdline` text,
	`install_kind` text NOT NULL,
	`templates` text NOT NULL,
	`vars` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `profiles_name_unique` ON `profiles` (`name`);--> statement-breakpoint
CREATE TABLE `groups` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`profile_id` integer,
	`vars` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`profile_id`) REFERENCES `profiles`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `groups_name_unique` ON `groups` (`name`);--> statement-breakpoint
CREATE TABLE `interfaces` (
	`mac` text PRIMARY KEY NOT NULL,
	`machine_id` integer NOT NULL,
	`ip` text,
	`position` integer NOT NULL,
	FOREIGN KEY (`machine_id`) REFERENCES `machines`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `interfaces_machine` ON `interfaces` (`machine_id`,`position`);--> statement-breakpoint
CREATE UNIQUE INDEX `interfaces_ip` ON `interfaces` (`ip`);--> statement-breakpoint
CREATE TABLE `machines` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`hostname` text,
	`serial` text,
	`arch` text,
	`labels` text NOT NULL,
	`group_id` integer,
	`profile_id` integer,
	`state` text NOT NULL,
	`boot_policy` text,
	`vars` text NOT NULL,
	`last_seen_at` integer,
	`last_source` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`group_id`) REFERENCES `groups`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`profile_id`) REFERENCES `profiles`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `machines_hostname` ON `machines` (`hostname`) WHERE "machines"."state" <> 'retired';--> statement-breakpoint
CREATE INDEX `machines_state` ON `machines` (`state`,`id`);--> statement-breakpoint
CREATE INDEX `machines_group` ON `machines` (`group_id`);--> statement-breakpoint
CREATE TABLE `run_transitions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`run_id` integer NOT NULL,
	`at` integer NOT NULL,
	`from_state` text,
	`to_state` text NOT NULL,
	`source` text,
	`reason` text NOT NULL,
	FOREIGN KEY (`run_id`) REFERENCES `runs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `run_transitions_run` ON `run_transitions` (`run_id`,`id`);--> statement-breakpoint
CREATE TABLE `runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`machine_id` integer NOT NULL,
	`profile_id` integer NOT NULL,
	`state` text NOT NULL,
	`active` integer,
	`vars` text NOT NULL,
	`machine_state_before` text NOT NULL,
	`deadline_at` integer NOT NULL,
	`error` text,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`finished_at` integer,
	FOREIGN KEY (`machine_id`) REFERENCES `machines`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`profile_id`) REFERENCES `profiles`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `runs_machine` ON `runs` (`machine_id`,`id`);--> statement-breakpoint
CREATE INDEX `runs_state` ON `runs` (`state`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `runs_active` ON `runs` (`machine_id`,`active`);--> statement-breakpoint
CREATE TABLE `machine_facts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`machine_id` integer NOT NULL,
	`at` integer NOT NULL,
	`facts` text NOT NULL,
	FOREIGN KEY (`machine_id`) REFERENCES `machines`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `machine_facts_machine` ON `machine_facts` (`machine_id`,`id`);--> statement-breakpoint
CREATE TABLE `machine_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`secret_hash` text NOT NULL,
	`machine_id` integer NOT NULL,
	`run_id` integer,
	`mac` text,
	`created_at` integer NOT NULL,
	`expires_at` integer,
	`used_at` integer,
	`revoked_at` integer,
	FOREIGN KEY (`machine_id`) REFERENCES `machines`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`run_id`) REFERENCES `runs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `machine_tokens_agent` ON `machine_tokens` (`machine_id`) WHERE "machine_tokens"."kind" = 'agent';--> statement-breakpoint
CREATE INDEX `machine_tokens_expiry` ON `machine_tokens` (`expires_at`) WHERE "machine_tokens"."kind" = 'boot';
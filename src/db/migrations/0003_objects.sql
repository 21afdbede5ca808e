CREATE TABLE `artifacts` (
	`name` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`digest` text NOT NULL,
	`size_bytes` integer NOT NULL,
	`content_type` text NOT NULL,
	`source` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `artifacts_digest` ON `artifacts` (`digest`);--> statement-breakpoint
CREATE TABLE `buckets` (
	`name` text PRIMARY KEY NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `multipart_parts` (
	`upload_id` text NOT NULL,
	`part_number` integer NOT NULL,
	`digest` text NOT NULL,
	`size_bytes` integer NOT NULL,
	`etag` text NOT NULL,
	`last_modified` integer NOT NULL,
	PRIMARY KEY(`upload_id`, `part_number`),
	FOREIGN KEY (`upload_id`) REFERENCES `multipart_uploads`(`upload_id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `multipart_parts_digest` ON `multipart_parts` (`digest`);--> statement-breakpoint
CREATE TABLE `multipart_uploads` (
	`upload_id` text PRIMARY KEY NOT NULL,
	`bucket` text NOT NULL,
	`key` text NOT NULL,
	`content_type` text NOT NULL,
	`metadata` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`bucket`) REFERENCES `buckets`(`name`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `multipart_uploads_bucket_key` ON `multipart_uploads` (`bucket`,`key`);--> statement-breakpoint
CREATE TABLE `objects` (
	`bucket` text NOT NULL,
	`key` text NOT NULL,
	`digest` text NOT NULL,
	`size_bytes` integer NOT NULL,
	`etag` text NOT NULL,
	`content_type` text NOT NULL,
	`metadata` text NOT NULL,
	`last_modified` integer NOT NULL,
	PRIMARY KEY(`bucket`, `key`),
	FOREIGN KEY (`bucket`) REFERENCES `buckets`(`name`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `objects_digest` ON `objects` (`digest`);--> statement-breakpoint
CREATE TABLE `s3_keys` (
	`access_key_id` text PRIMARY KEY NOT NULL,
	`secret` text NOT NULL,
	`name` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	`revoked_at` integer
);

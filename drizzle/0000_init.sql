CREATE TABLE `outbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`chat_id` integer NOT NULL,
	`text` text NOT NULL,
	`options` text,
	`status` text DEFAULT 'queued' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`message_id` integer,
	`last_error` text,
	`run_id` integer,
	`update_id` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `outbox_status_idx` ON `outbox` (`status`,`id`);--> statement-breakpoint
CREATE INDEX `outbox_chat_idx` ON `outbox` (`chat_id`,`id`);--> statement-breakpoint
CREATE TABLE `parked_updates` (
	`update_id` integer PRIMARY KEY NOT NULL,
	`conversation` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `parked_conversation_idx` ON `parked_updates` (`conversation`,`update_id`);--> statement-breakpoint
CREATE TABLE `run_steps` (
	`run_id` integer NOT NULL,
	`seq` integer NOT NULL,
	`kind` text NOT NULL,
	`text` text NOT NULL,
	`state` text NOT NULL,
	`answer` text,
	`answer_update_id` integer,
	`deadline_at` integer,
	`created_at` integer NOT NULL,
	`answered_at` integer,
	PRIMARY KEY(`run_id`, `seq`)
);
--> statement-breakpoint
CREATE INDEX `run_steps_state_idx` ON `run_steps` (`state`);--> statement-breakpoint
CREATE TABLE `runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`conversation` text NOT NULL,
	`chat_id` integer NOT NULL,
	`user_id` integer,
	`agent` text NOT NULL,
	`status` text NOT NULL,
	`trigger_update_id` integer NOT NULL,
	`trigger` text NOT NULL,
	`error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`ended_at` integer
);
--> statement-breakpoint
CREATE INDEX `runs_conversation_idx` ON `runs` (`conversation`,`status`);--> statement-breakpoint
CREATE INDEX `runs_status_idx` ON `runs` (`status`,`id`);--> statement-breakpoint
CREATE TABLE `settings` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `updates` (
	`update_id` integer PRIMARY KEY NOT NULL,
	`chat_id` integer,
	`user_id` integer,
	`kind` text NOT NULL,
	`payload` text,
	`status` text DEFAULT 'received' NOT NULL,
	`error` text,
	`received_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `updates_status_idx` ON `updates` (`status`,`update_id`);--> statement-breakpoint
CREATE INDEX `updates_received_at_idx` ON `updates` (`received_at`);
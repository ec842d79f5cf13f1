CREATE TABLE `sandbox_chats` (
	`chat_id` integer PRIMARY KEY NOT NULL,
	`chat` text NOT NULL,
	`user` text,
	`removed_at` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `sandbox_messages` (
	`chat_id` integer NOT NULL,
	`message_id` integer NOT NULL,
	`side` text NOT NULL,
	`text` text NOT NULL,
	`date` integer NOT NULL,
	`sender` text,
	`params` text,
	`reply_markup` text,
	PRIMARY KEY(`chat_id`, `message_id`)
);
--> statement-breakpoint
CREATE TABLE `sandbox_updates` (
	`update_id` integer PRIMARY KEY NOT NULL,
	`payload` text,
	`created_at` integer NOT NULL
);

CREATE TABLE `memories` (
	`conversation` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
DROP INDEX `run_steps_state_idx`;--> statement-breakpoint
ALTER TABLE `run_steps` ADD `result` text;--> statement-breakpoint
ALTER TABLE `run_steps` ADD `error` text;--> statement-breakpoint
ALTER TABLE `run_steps` ADD `attempts` integer;--> statement-breakpoint
ALTER TABLE `run_steps` ADD `choices` text;--> statement-breakpoint
CREATE INDEX `run_steps_state_idx` ON `run_steps` (`state`,`deadline_at`);--> statement-breakpoint
ALTER TABLE `runs` ADD `agent_version` text;--> statement-breakpoint
ALTER TABLE `runs` ADD `memory_before` text;
ALTER TABLE "datasets" ADD COLUMN "statistics" jsonb;--> statement-breakpoint
ALTER TABLE "datasets" ADD COLUMN "statistics_uri" text;
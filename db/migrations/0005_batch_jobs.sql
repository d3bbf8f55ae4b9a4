CREATE TABLE "batch_jobs" (
	"id" text PRIMARY KEY NOT NULL,
	"model" text NOT NULL,
	"model_version" integer NOT NULL,
	"alias" text,
	"source" jsonb NOT NULL,
	"started_by" text NOT NULL,
	"status" text NOT NULL,
	"rows" integer,
	"chunks" integer,
	"chunks_done" integer DEFAULT 0 NOT NULL,
	"source_hash" text,
	"output_uri" text,
	"output_sha256" text,
	"warnings" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"failure" jsonb,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "batch_jobs_model_started" ON "batch_jobs" USING btree ("model","started_at");--> statement-breakpoint
-- The runtime role's default privileges (0004) cover new tables when the same owner made them; said
-- outright so a database migrated by another owner role is no different.
GRANT SELECT, INSERT, UPDATE ON "batch_jobs" TO "mlp_runtime";

CREATE TABLE "alias_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"model_id" integer NOT NULL,
	"alias" text NOT NULL,
	"from_version" integer,
	"to_version" integer NOT NULL,
	"actor" text NOT NULL,
	"reason" text NOT NULL,
	"idempotency_key" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "aliases" (
	"model_id" integer NOT NULL,
	"alias" text NOT NULL,
	"version" integer NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"subject" text NOT NULL,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "datasets" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_workflow_id" text NOT NULL,
	"stage" text NOT NULL,
	"uri" text NOT NULL,
	"rows" integer NOT NULL,
	"schema" jsonb NOT NULL,
	"content_hash" text NOT NULL,
	"report" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "metrics" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_workflow_id" text NOT NULL,
	"subject" text NOT NULL,
	"name" text NOT NULL,
	"value" double precision NOT NULL
);
--> statement-breakpoint
CREATE TABLE "model_versions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"model_id" integer NOT NULL,
	"version" integer NOT NULL,
	"run_workflow_id" text NOT NULL,
	"artifact_uri" text NOT NULL,
	"artifact_sha256" text NOT NULL,
	"metrics" jsonb NOT NULL,
	"baselines" jsonb NOT NULL,
	"transform" jsonb NOT NULL,
	"input_schema" jsonb NOT NULL,
	"lineage" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "models" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"task" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pipelines" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"version" integer NOT NULL,
	"spec" jsonb NOT NULL,
	"spec_hash" text NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "runs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"workflow_id" text NOT NULL,
	"temporal_run_id" text,
	"pipeline" text NOT NULL,
	"pipeline_version" integer NOT NULL,
	"as_of" timestamp with time zone NOT NULL,
	"trigger" text NOT NULL,
	"status" text NOT NULL,
	"stage" text,
	"failure" jsonb,
	"summary" jsonb,
	"model_version" integer,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "alias_events" ADD CONSTRAINT "alias_events_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "aliases" ADD CONSTRAINT "aliases_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "alias_events_idempotency" ON "alias_events" USING btree ("idempotency_key");--> statement-breakpoint
CREATE UNIQUE INDEX "aliases_model_alias" ON "aliases" USING btree ("model_id","alias");--> statement-breakpoint
CREATE UNIQUE INDEX "datasets_run_stage" ON "datasets" USING btree ("run_workflow_id","stage");--> statement-breakpoint
CREATE UNIQUE INDEX "metrics_run_subject_name" ON "metrics" USING btree ("run_workflow_id","subject","name");--> statement-breakpoint
CREATE UNIQUE INDEX "model_versions_model_version" ON "model_versions" USING btree ("model_id","version");--> statement-breakpoint
CREATE UNIQUE INDEX "model_versions_run" ON "model_versions" USING btree ("run_workflow_id");--> statement-breakpoint
CREATE UNIQUE INDEX "models_name" ON "models" USING btree ("name");--> statement-breakpoint
CREATE UNIQUE INDEX "pipelines_name_version" ON "pipelines" USING btree ("name","version");--> statement-breakpoint
CREATE UNIQUE INDEX "runs_workflow_id" ON "runs" USING btree ("workflow_id");--> statement-breakpoint
CREATE INDEX "runs_pipeline_started" ON "runs" USING btree ("pipeline","started_at");
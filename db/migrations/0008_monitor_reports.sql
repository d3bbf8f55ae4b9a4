CREATE TABLE "monitor_reports" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"model" text NOT NULL,
	"window_from" timestamp with time zone NOT NULL,
	"window_to" timestamp with time zone NOT NULL,
	"version" integer,
	"breach" boolean NOT NULL,
	"report" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "monitor_reports_window" ON "monitor_reports" USING btree ("model","window_from","window_to");--> statement-breakpoint
CREATE INDEX "monitor_reports_model_to" ON "monitor_reports" USING btree ("model","window_to");--> statement-breakpoint
-- As 0007: the runtime role's privileges said outright. A window's report is written once and never changed.
GRANT SELECT, INSERT ON "monitor_reports" TO "mlp_runtime";--> statement-breakpoint
REVOKE UPDATE, DELETE ON "monitor_reports" FROM "mlp_runtime";--> statement-breakpoint
GRANT USAGE, SELECT ON SEQUENCE "monitor_reports_id_seq" TO "mlp_runtime";

CREATE TABLE "prediction_batches" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"model" text NOT NULL,
	"version" integer NOT NULL,
	"token" text NOT NULL,
	"first_seq" bigint NOT NULL,
	"last_seq" bigint NOT NULL,
	"rows" integer NOT NULL,
	"from_at" timestamp with time zone NOT NULL,
	"to_at" timestamp with time zone NOT NULL,
	"data" "bytea" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "prediction_outcomes" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"model" text NOT NULL,
	"prediction_id" text,
	"key_fields" text,
	"key" text,
	"label" text,
	"value" double precision,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"reported_by" text NOT NULL
);
--> statement-breakpoint
CREATE INDEX "prediction_batches_model_time" ON "prediction_batches" USING btree ("model","to_at");--> statement-breakpoint
CREATE INDEX "prediction_batches_token_seq" ON "prediction_batches" USING btree ("token","first_seq");--> statement-breakpoint
CREATE UNIQUE INDEX "prediction_outcomes_by_id" ON "prediction_outcomes" USING btree ("model","prediction_id") WHERE prediction_id is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "prediction_outcomes_by_key" ON "prediction_outcomes" USING btree ("model","key_fields","key") WHERE key is not null;--> statement-breakpoint
CREATE INDEX "prediction_outcomes_model_received" ON "prediction_outcomes" USING btree ("model","received_at");--> statement-breakpoint
-- The blob is already compact (typed arrays, dictionary-coded text): pglz would spend CPU on every logged
-- batch for little, so it is stored out of line without compression.
ALTER TABLE "prediction_batches" ALTER COLUMN "data" SET STORAGE EXTERNAL;--> statement-breakpoint
-- As 0005: the runtime role's privileges said outright (with their sequences), for a database migrated by
-- another owner role. Batches are written and pruned, never changed; outcomes are written once per key.
GRANT SELECT, INSERT, DELETE ON "prediction_batches" TO "mlp_runtime";--> statement-breakpoint
REVOKE UPDATE ON "prediction_batches" FROM "mlp_runtime";--> statement-breakpoint
GRANT SELECT, INSERT ON "prediction_outcomes" TO "mlp_runtime";--> statement-breakpoint
REVOKE UPDATE, DELETE ON "prediction_outcomes" FROM "mlp_runtime";--> statement-breakpoint
GRANT USAGE, SELECT ON SEQUENCE "prediction_batches_id_seq", "prediction_outcomes_id_seq" TO "mlp_runtime";

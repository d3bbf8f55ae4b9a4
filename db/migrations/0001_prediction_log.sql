CREATE TABLE "prediction_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"model" text NOT NULL,
	"version" integer NOT NULL,
	"alias" text,
	"rows" integer NOT NULL,
	"latency_ms" double precision NOT NULL,
	"request" jsonb NOT NULL,
	"response" jsonb NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "prediction_log_model_at" ON "prediction_log" USING btree ("model","at");
-- The prediction log keeps bodies as json (validated, stored as sent) and uncompressed: building jsonb and
-- pglz-compressing number-heavy responses cost most of PostgreSQL's CPU under load. SET STORAGE only
-- affects rows written after it; the type change rewrites the existing ones.
ALTER TABLE "prediction_log" ALTER COLUMN "request" SET DATA TYPE json USING "request"::json;--> statement-breakpoint
ALTER TABLE "prediction_log" ALTER COLUMN "response" SET DATA TYPE json USING "response"::json;--> statement-breakpoint
ALTER TABLE "prediction_log" ALTER COLUMN "request" SET STORAGE EXTERNAL;--> statement-breakpoint
ALTER TABLE "prediction_log" ALTER COLUMN "response" SET STORAGE EXTERNAL;

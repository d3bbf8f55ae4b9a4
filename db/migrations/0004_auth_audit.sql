CREATE TABLE "api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"role" text NOT NULL,
	"secret_sha256" text NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"revoked_by" text,
	"last_used_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "request_id" text;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "started_by" text;--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_live_name" ON "api_keys" USING btree ("name") WHERE revoked_at is null;--> statement-breakpoint
CREATE INDEX "audit_log_at" ON "audit_log" USING btree ("at");--> statement-breakpoint
CREATE INDEX "audit_log_subject_at" ON "audit_log" USING btree ("subject","at");--> statement-breakpoint
-- The API and the worker log in as mlp_runtime: rows in, rows out, no DDL. Migrations run as the owner
-- (MIGRATION_DATABASE_URL, or the embedded cluster's superuser). Like mlp_source_reader (0003), the role is
-- cluster-wide, created only when absent, and gets its LOGIN out of band (app/role-logins.ts for the
-- embedded cluster, deploy/postgres/initdb for docker compose, the operator elsewhere).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'mlp_runtime') THEN
    CREATE ROLE "mlp_runtime" NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL; -- created meanwhile by the migration of another database in the same cluster
END
$$;
--> statement-breakpoint
-- Before PostgreSQL 15 every role could create objects in public; the runtime role must not.
REVOKE CREATE ON SCHEMA "public" FROM PUBLIC;
--> statement-breakpoint
GRANT USAGE ON SCHEMA "public" TO "mlp_runtime";
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "public" TO "mlp_runtime";
--> statement-breakpoint
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "public" TO "mlp_runtime";
--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA "public" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "mlp_runtime";
--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA "public" GRANT USAGE, SELECT ON SEQUENCES TO "mlp_runtime";
--> statement-breakpoint
-- A replica started with the runtime login alone checks that the migrations are applied (db/migrate.ts).
GRANT USAGE ON SCHEMA "drizzle" TO "mlp_runtime";
--> statement-breakpoint
GRANT SELECT ON "drizzle"."__drizzle_migrations" TO "mlp_runtime";
--> statement-breakpoint
-- The two histories are append-only for the runtime role: the audit log and the alias moves.
REVOKE UPDATE, DELETE, TRUNCATE ON "audit_log", "alias_events" FROM "mlp_runtime";
--> statement-breakpoint
-- And for every role, the owner included: a row-level trigger refuses UPDATE and DELETE. (A restore into a
-- fresh database replaces the whole table with TRUNCATE, as the owner, which row triggers do not see.)
CREATE OR REPLACE FUNCTION "audit_log_is_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: rows are never updated or deleted' USING ERRCODE = 'insufficient_privilege';
END
$$;
--> statement-breakpoint
CREATE TRIGGER "audit_log_append_only" BEFORE UPDATE OR DELETE ON "audit_log"
  FOR EACH ROW EXECUTE FUNCTION "audit_log_is_append_only"();

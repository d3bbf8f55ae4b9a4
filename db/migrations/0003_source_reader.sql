-- Pipelines' `sql` sources read the schema source_data, logged in as the role mlp_source_reader, never as
-- the registry's role (data/sources.ts). The role may read source_data and nothing else: no grant here
-- reaches the registry's tables (public) or drizzle's bookkeeping. Its login (LOGIN + password) is given
-- out of band: by the platform itself with the embedded PostgreSQL (app/source-reader.ts), by
-- deploy/postgres/initdb with docker compose, by the operator elsewhere (k8s/README.md).
--
-- Roles are cluster-wide and one cluster may hold many platform databases (the tests run one per file, some
-- migrating at the same time): the role is created only when absent, a concurrent creator is tolerated, and
-- the role's setting is written only when it differs.
-- GRANT ... ON ALL TABLES covers tables that exist now; ALTER DEFAULT PRIVILEGES covers the tables the
-- migrating role creates in source_data later (tables created by another role need that role's own grant).
CREATE SCHEMA IF NOT EXISTS "source_data";
--> statement-breakpoint
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'mlp_source_reader') THEN
    CREATE ROLE "mlp_source_reader" NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL; -- created meanwhile by the migration of another database in the same cluster
END
$$;
--> statement-breakpoint
GRANT USAGE ON SCHEMA "source_data" TO "mlp_source_reader";
--> statement-breakpoint
GRANT SELECT ON ALL TABLES IN SCHEMA "source_data" TO "mlp_source_reader";
--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA "source_data" GRANT SELECT ON TABLES TO "mlp_source_reader";
--> statement-breakpoint
DO $$
BEGIN
  IF NOT EXISTS (
    SELECT FROM pg_catalog.pg_roles WHERE rolname = 'mlp_source_reader' AND rolconfig @> ARRAY['search_path=source_data']
  ) THEN
    ALTER ROLE "mlp_source_reader" SET search_path = source_data;
  END IF;
END
$$;

#!/bin/sh
# The platform's two login roles, with LOGIN and a password, beside POSTGRES_USER (the owner, which applies
# the migrations: MIGRATION_DATABASE_URL):
#   mlp_runtime        the API and the worker (DATABASE_URL): rows in and out, no DDL    RUNTIME_PASSWORD
#   mlp_source_reader  pipelines' `sql` sources: schema source_data only                SOURCE_READER_PASSWORD
# The postgres image runs this folder (/docker-entrypoint-initdb.d) once, on the first start of an empty data
# volume, before the platform's migrations; they find the roles and grant them their rights
# (db/migrations/0003_source_reader.sql, 0004_auth_audit.sql). Safe to run again (e.g. on a volume made
# before this file existed, or to change a password):
#   docker compose -p ml-platform exec postgres sh /docker-entrypoint-initdb.d/10-role-logins.sh
set -e
for var in RUNTIME_PASSWORD SOURCE_READER_PASSWORD; do
  eval "value=\${$var:-}"
  if [ -z "$value" ]; then
    echo "10-role-logins.sh: $var is empty; every login needs a password" >&2
    exit 1
  fi
done
psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
  --set=runtime_password="$RUNTIME_PASSWORD" --set=reader_password="$SOURCE_READER_PASSWORD" <<'SQL'
SELECT 'CREATE ROLE mlp_runtime' WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'mlp_runtime')
\gexec
ALTER ROLE mlp_runtime WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'runtime_password';
SELECT 'CREATE ROLE mlp_source_reader' WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'mlp_source_reader')
\gexec
ALTER ROLE mlp_source_reader WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'reader_password';
SQL

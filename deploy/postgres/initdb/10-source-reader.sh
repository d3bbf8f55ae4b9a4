#!/bin/sh
# The login of pipelines' `sql` sources: the role mlp_source_reader, with LOGIN and the password in
# SOURCE_READER_PASSWORD. The postgres image runs this folder (/docker-entrypoint-initdb.d) once, on the first
# start of an empty data volume, before the platform's migrations; migration 0003
# (db/migrations/0003_source_reader.sql) then finds the role and grants it SELECT on schema source_data and
# nothing else. Safe to run again (e.g. on a volume made before this file existed, or to change the password):
#   docker compose -p ml-platform exec postgres sh /docker-entrypoint-initdb.d/10-source-reader.sh
set -e
if [ -z "${SOURCE_READER_PASSWORD:-}" ]; then
  echo "10-source-reader.sh: SOURCE_READER_PASSWORD is empty; the sql-source login needs a password" >&2
  exit 1
fi
psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
  --set=reader_password="$SOURCE_READER_PASSWORD" <<'SQL'
SELECT 'CREATE ROLE mlp_source_reader' WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'mlp_source_reader')
\gexec
ALTER ROLE mlp_source_reader WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'reader_password';
SQL

-- The prediction log keeps bodies as json (validated, stored as sent) and uncompressed: building jsonb and
-- pglz-compressing number-heavy responses cost most of PostgreSQL's CPU under load. One ALTER TABLE, so
-- the rewrite the type change needs happens after the storage change and existing rows come out
-- uncompressed too. The rewrite holds an exclusive lock on prediction_log while it runs (the API's log
-- writes wait; predictions do not).
ALTER TABLE "prediction_log"
  ALTER COLUMN "request" SET DATA TYPE json USING "request"::json,
  ALTER COLUMN "response" SET DATA TYPE json USING "response"::json,
  ALTER COLUMN "request" SET STORAGE EXTERNAL,
  ALTER COLUMN "response" SET STORAGE EXTERNAL;

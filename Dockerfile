# syntax=docker/dockerfile:1
#
# One image, several roles (the command picks one):
#   docker run IMAGE api       HTTP API on $PORT (3000): /health/live|ready|startup, /metrics
#   docker run IMAGE worker    Temporal worker: probes + /metrics on $WORKER_PORT (3001),
#                              the Temporal SDK's Prometheus exporter on $TEMPORAL_METRICS_PORT (9464)
#   docker run IMAGE migrate   applies the SQL migrations to $DATABASE_URL and exits 0
#
# Build:  docker build --build-arg GIT_COMMIT="$(git rev-parse --short HEAD)" -t ml-platform:local .
# linux/amd64 only: package.json pins the x64 native packages (nodejs-polars-linux-x64-gnu, ...).
# NPM_INSTALL_FLAGS="--omit=optional" leaves out @tensorflow/tfjs-node (smaller image; tfjs falls back
# to its wasm backend).

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- deps: every dependency (dev included) from the lockfile ----------------------------------------
FROM ${NODE_IMAGE} AS deps
ARG NPM_INSTALL_FLAGS=""
ENV npm_config_update_notifier=false
WORKDIR /app
COPY package.json package-lock.json ./
# `npm install --no-save` rather than `npm ci`: see scripts/setup.mjs (a registry mirror that carries only
# this platform's native packages leaves the lockfile without the other platforms' entries). Versions
# still come from the lockfile.
RUN --mount=type=cache,target=/root/.npm \
    npm install --no-save --no-audit --no-fund ${NPM_INSTALL_FLAGS}

# ---- build: tsc to dist/, plus the SQL migrations and shipped pipeline specs -------------------------
FROM deps AS build
COPY . .
RUN npm run build

# ---- prod-deps: production dependencies only ---------------------------------------------------------
FROM ${NODE_IMAGE} AS prod-deps
ARG NPM_INSTALL_FLAGS=""
ENV npm_config_update_notifier=false
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm install --no-save --no-audit --no-fund --omit=dev ${NPM_INSTALL_FLAGS}

# ---- runtime -----------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ARG GIT_COMMIT=""
LABEL org.opencontainers.image.title="temporal-ml-platform" \
      org.opencontainers.image.description="ML pipelines as Temporal workflows, Postgres model registry, prediction API" \
      org.opencontainers.image.revision="${GIT_COMMIT}"
ENV NODE_ENV=production \
    GIT_COMMIT=${GIT_COMMIT} \
    HOST=0.0.0.0 \
    PORT=3000 \
    WORKER_PORT=3001 \
    TEMPORAL_METRICS_PORT=9464 \
    DATA_DIR=/data \
    ARTIFACT_DIR=/data/artifacts
WORKDIR /app
# The application files stay root-owned and read-only for the process; only /data (artifacts) and /tmp
# are written. node_modules carries the native parts: nodejs-polars, @temporalio/core-bridge and the
# .wasm files of @tensorflow/tfjs-backend-wasm.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
# A named volume mounted on /data/artifacts starts with this folder's owner (the runtime user).
RUN mkdir -p /data/artifacts && chown -R 1000:1000 /data
# Numeric user (the image's `node` user), so Kubernetes can verify runAsNonRoot.
USER 1000:1000
EXPOSE 3000 3001 9464
# No curl in slim images: Node's fetch. HEALTHCHECK_PORT lets a role that listens elsewhere (the worker:
# $WORKER_PORT) reuse this check; docker-compose.yml sets the worker's check explicitly.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HEALTHCHECK_PORT || process.env.PORT || 3000) + '/health/live', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["api"]

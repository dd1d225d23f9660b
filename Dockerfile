# syntax=docker/dockerfile:1
# The connector's image: one image, three commands (docker-compose.yml picks one per service):
#   node dist/api.js      the API            node dist/worker.js   the Temporal worker
#   node dist/migrate.js  database migrations
# glibc (Debian) base: the Temporal SDK's native bridge ships prebuilt for glibc, not musl.
ARG NODE_IMAGE=node:20.19.5-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# patches/ before npm ci: its postinstall (patch-package) patches dependencies from it, and npm prune
# below keeps the patched files.
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
# jemalloc instead of glibc's malloc: the worker's native side (the SDK's Rust core) allocates from
# many threads, and glibc's per-thread arenas fragment; with jemalloc a cached workflow costs about
# a third less resident memory (docs/performance.md). Linked under one path for every architecture.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libjemalloc2 \
    && rm -rf /var/lib/apt/lists/* \
    && ln -s "$(ls /usr/lib/*-linux-gnu/libjemalloc.so.2)" /usr/local/lib/libjemalloc.so.2
ENV NODE_ENV=production \
    DATA_DIR=/data \
    LD_PRELOAD=/usr/local/lib/libjemalloc.so.2
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json /app/package-lock.json ./
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
# The code is root-owned and read-only to the process; only DATA_DIR (embedded PGlite, if no
# DATABASE_URL is given) is writable. `node` is the unprivileged user the base image provides.
RUN mkdir -p /data && chown node:node /data
USER node
# API port (PORT) and the worker's metrics port (WORKER_METRICS_PORT).
EXPOSE 3000 9464
CMD ["node", "dist/api.js"]

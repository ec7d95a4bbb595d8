# syntax=docker/dockerfile:1
#
#   docker build -t smslinks .
#   docker run -p 3000:3000 -v smslinks-data:/data -e PUBLIC_URL=https://s.brand.dk smslinks
#
# Metrics (docs/hosts.md): GET /metrics is served on port 9464, bound to the container's
# own loopback, which nothing outside the container reaches. For a Prometheus container
# on the same Docker network, bind it to the container's interfaces and publish only 3000:
#   docker network create monitoring
#   docker run --network monitoring --name smslinks -p 3000:3000 -v smslinks-data:/data \
#     -e PUBLIC_URL=https://s.brand.dk -e METRICS_HOST=0.0.0.0 smslinks
#   (prometheus.yml: static_configs: - targets: ['smslinks:9464'])
# Never publish 9464 (-p 9464:9464, or -P) on a public machine without METRICS_TOKEN.

# ---- build: compile TypeScript and better-sqlite3's native addon ----
# Node 22 LTS: the code also runs on 20.12+ (what CI tests on), but 20 is past its end of life.
FROM node:22-bookworm-slim AS build

# better-sqlite3 downloads a prebuilt binary when one exists and otherwise compiles
# with node-gyp, which needs these.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci

COPY tsconfig.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev

# ---- runtime ----
FROM node:22-bookworm-slim

ENV NODE_ENV=production \
    DATABASE_PATH=/data/smslinks.db \
    HOST=0.0.0.0 \
    PORT=3000 \
    METRICS_HOST=127.0.0.1 \
    METRICS_PORT=9464

WORKDIR /app

# dist/db/migrate.js reads ../../migrations/, i.e. /app/migrations.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
# dist/dashboard/assets.js reads ../../assets/dashboard/ (the dashboard's page script and style).
COPY assets ./assets
COPY package.json ./

# The database lives on a volume owned by the unprivileged user. The folder is made
# before VOLUME so that a new named volume starts out with this owner.
RUN mkdir -p /data && chown node:node /data
VOLUME /data

USER node
# 3000: short links and the API. 9464: metrics, reachable only once METRICS_HOST opens it.
EXPOSE 3000 9464

# The slim image has no curl; node's own fetch does the check.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# node is PID 1 and handles SIGTERM itself: it drains requests and flushes queued clicks.
# The heap flag is npm start's (docs/adr/0064): a tighter heap, about 40 MB less RSS.
CMD ["node", "--max-old-space-size=512", "dist/server.js"]

# One image for every Parley role; docker-compose.yml picks the role with `command`.
# Build: docker build -t parley .   (docker-compose builds it for you)

FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source when its prebuilt binary is unreachable.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# Manifests first, so `npm ci` is cached until a dependency changes.
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/store/package.json packages/store/
COPY packages/web/package.json packages/web/
COPY packages/worker/package.json packages/worker/
COPY packages/chatserver/package.json packages/chatserver/
COPY packages/cluster/package.json packages/cluster/
COPY packages/client/package.json packages/client/
COPY packages/loadtest/package.json packages/loadtest/
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY packages packages
COPY scripts/build-ui.mjs scripts/
COPY docs/openapi.yaml docs/
# The browser bundles (pages, badge.js) and /api/openapi.json are built with dev dependencies, before the prune.
RUN npx tsc -b && node scripts/build-ui.mjs && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/packages packages
# The SQLite volume is mounted here; created owned by `node` so a fresh named
# volume inherits that owner.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000 3900 4000 4100
CMD ["node", "packages/web/dist/main.js"]

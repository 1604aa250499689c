# Switchyard's gateway (and the rest of the CLI) in a container.
#   docker build -t switchyard .
#   docker run -p 8080:8080 -v "$PWD/deploy:/etc/switchyard:ro" -e OPENAI_API_KEY switchyard
# The config (/etc/switchyard/switchyard.yaml by default; paths in it are relative to it) must listen on
# 0.0.0.0 — server: { host: 0.0.0.0 } — and keep its SQLite store and outbox on the writable volume:
# store: { path: /var/lib/switchyard/switchyard.db, outbox: /var/lib/switchyard/outbox.jsonl } (or use
# Redis). Nothing is downloaded at run time: the use-lite weights ship inside node_modules.
# docs/gateway.md, "Running it in a container".

FROM node:20-bookworm-slim AS build
# better-sqlite3 compiles from source where no prebuilt binary can be fetched
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /var/lib/switchyard && chown node:node /var/lib/switchyard
VOLUME /var/lib/switchyard
USER node
EXPOSE 8080
# SIGTERM drains requests in flight (server.drainMs); SIGHUP reloads the config
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["serve", "--config", "/etc/switchyard/switchyard.yaml"]

# syntax=docker/dockerfile:1
# The Appstore server (api, web, router, operator roles): `docker build -t appstore:dev .`
# Runs the compiled server (dist/, from tsconfig.build.json), as the non-root node user.

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# Compile the server and the web UI; then drop the build tools (TypeScript, tsx, vite).
RUN node bin/dist.mjs --force && npx vite build web && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /opt/appstore
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/bin ./bin
COPY --from=build /src/dist ./dist
COPY --from=build /src/web/dist ./web/dist
# uid 1000 is the node user of the base image; the manifests run the pod as 1000 too.
USER 1000:1000
EXPOSE 8080
ENTRYPOINT ["node", "bin/appstore.mjs"]
# The manifests mount the configuration here (manifests/base/appstore.toml); with `docker run`, mount
# yours there too: the built-in defaults listen on loopback only, with local (development) sign-in.
CMD ["server", "--config", "/etc/appstore/appstore.toml"]

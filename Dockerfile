# syntax=docker/dockerfile:1
#
# Warden's images: one build, one target per service (planner, guard, executor, auditor, escalation,
# scripted-model). Each target runs the compiled code (dist/) with plain node, production dependencies only,
# as a non-root user, and works with a read-only root filesystem (only /tmp and, for the executor, its workspace
# need a writable volume). Build one with e.g.
#   docker build --target guard -t warden-guard .
# docker-compose.yml builds them all; docs/deploy.md explains the Helm chart that runs them in Kubernetes.
#
# The machines that build Warden have no Docker engine: these images are linted (hadolint) and their entry points
# are run from the same build output in CI (test/compiled-entry-points.int.test.ts), but the images themselves are
# built only where Docker is available.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- manifests: every workspace's package.json and nothing else ---------------------------------------------
# Sources change often, manifests rarely: the build stage copies this stage's output (identical while no manifest
# changed), so its `npm ci` layer stays cached. Every workspace under packages/ and services/ is picked up.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY packages ./packages
COPY services ./services
RUN find packages services -mindepth 2 -maxdepth 2 ! -name package.json -exec rm -rf {} +

# ---- build: every workspace compiled with tsc -b --------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY patches ./patches
COPY --from=manifests /src ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY packages ./packages
COPY services ./services
RUN npx tsc -b \
  && npm prune --omit=dev --no-audit --no-fund \
  && find packages services -depth \( -name src -o -name test -o -name '*.tsbuildinfo' -o -name 'tsconfig*.json' \) \
       -exec rm -rf {} + \
  && npm cache clean --force

# ---- runtime: the pruned tree, owned by root, run as the unprivileged "node" user (uid 1000) -----------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps \
    WARDEN_HTTP_HOST=0.0.0.0 \
    WARDEN_HTTP_PORT=9464 \
    WARDEN_SHUTDOWN_GRACE_MS=20000 \
    WARDEN_HEALTH_URL=http://127.0.0.1:9464/healthz
WORKDIR /app
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/packages ./packages
COPY --from=build /src/services ./services
# The executor's file-tool workspace, owned by the runtime user, so a fresh named volume mounted there is writable.
RUN mkdir -p /var/lib/warden/workspace && chown 1000:1000 /var/lib/warden/workspace
USER 1000:1000
# Workers stop on SIGTERM: they drain in-flight work, commit, and exit 0 within WARDEN_SHUTDOWN_GRACE_MS (1 when
# forced). Give the container longer than that: docker stop -t / stop_grace_period, terminationGracePeriodSeconds.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.WARDEN_HEALTH_URL).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# ---- one target per service ---------------------------------------------------------------------------------
FROM runtime AS planner
EXPOSE 9464
CMD ["node", "services/planner/dist/main.js"]

FROM runtime AS guard
EXPOSE 9464
CMD ["node", "services/guard/dist/main.js"]

FROM runtime AS executor
# The file tools' workspace: mount a volume here (the root filesystem may be read-only).
ENV EXECUTOR_WORKSPACE_ROOT=/var/lib/warden/workspace
EXPOSE 9464
CMD ["node", "services/executor/dist/main.js"]

FROM runtime AS auditor
# The auditor serves its health on its query API.
ENV AUDITOR_API_HOST=0.0.0.0 \
    AUDITOR_API_PORT=8090 \
    WARDEN_HEALTH_URL=http://127.0.0.1:8090/healthz
EXPOSE 8090
CMD ["node", "services/auditor/dist/main.js"]

FROM runtime AS escalation
# Health and metrics on WARDEN_HTTP_PORT; the escalation API and page on ESCALATION_HTTP_PORT.
ENV ESCALATION_HTTP_HOST=0.0.0.0 \
    ESCALATION_HTTP_PORT=8090
EXPOSE 9464 8090
CMD ["node", "services/escalation/dist/main.js"]

FROM runtime AS scripted-model
ENV SCRIPTED_MODEL_HOST=0.0.0.0 \
    SCRIPTED_MODEL_PORT=8787 \
    WARDEN_HEALTH_URL=http://127.0.0.1:8787/healthz
EXPOSE 8787
CMD ["node", "services/scripted-model/dist/main.js"]

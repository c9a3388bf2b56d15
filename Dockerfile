# syntax=docker/dockerfile:1
# The broker's container image: the npm package (the same `npm pack` tarball the release publishes; the
# package bundles everything, so nothing is resolved at install) installed on Node 24, run as a non-root
# user, data on a volume. test/e2e/container.test.ts replays these steps outside a container and checks the
# examples in deploy/ against them; keep them simple (one command per RUN) so it can.
#
# Run: BROKER_KEK is required (serve refuses to start without it); pass it as a secret, never as a build
# argument or a baked-in ENV. Policies are read from /etc/secret-broker/policies (mount them, or build an
# image FROM this one that COPYs your reviewed policies there). See docs/OPERATIONS.md.
#
#   docker build -t secret-broker .
#   docker run --rm -p 8787:8787 --env-file broker.env -v sb-data:/data \
#     -v "$PWD/policies:/etc/secret-broker/policies:ro" secret-broker
#
# The tag is pinned; the release pins the digest too (node:24.9.0-bookworm-slim@sha256:...), so a rebuild of
# the same tag cannot pick up a different base.
ARG NODE_IMAGE=node:24.9.0-bookworm-slim

# Build and install on the build machine's platform: the output is plain JavaScript, so the final stage
# needs no RUN and a multi-platform build needs no emulation.
FROM --platform=$BUILDPLATFORM ${NODE_IMAGE} AS package
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency's install script runs (the `node` devDependency's download is not needed:
# the base image's Node 24 builds the package).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN mkdir -p /pkg /data /etc/secret-broker/policies
# npm pack runs `prepare` (scripts/build-package.ts), which builds dist/ into the tarball.
RUN npm pack --pack-destination /pkg
RUN mv /pkg/secret-broker-*.tgz /pkg/secret-broker.tgz
RUN npm install --global --prefix /opt/secret-broker /pkg/secret-broker.tgz --offline --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.source="https://github.com/acme/secret-broker" \
      org.opencontainers.image.description="OIDC credential broker for CI/CD" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=package /opt/secret-broker /opt/secret-broker
COPY --from=package /etc/secret-broker /etc/secret-broker
COPY --from=package --chown=1000:1000 /data /data
ENV NODE_ENV=production \
    BROKER_DATA_DIR=/data \
    BROKER_POLICIES=/etc/secret-broker/policies
# The base image's `node` user, by number, so Kubernetes' runAsNonRoot can check it.
USER 1000:1000
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8787
# Liveness only (the process answers); readiness (KEK, keys, stores, policy) is /readyz, for the orchestrator.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8787/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node and the installed script by path: no shebang or PATH lookup, and the same command a distroless base runs.
ENTRYPOINT ["node", "/opt/secret-broker/lib/node_modules/secret-broker/dist/cli/bin.js", "serve", "--host", "0.0.0.0", "--port", "8787"]

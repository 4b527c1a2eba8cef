# syntax=docker/dockerfile:1
# retry-sidecar image: build with dev dependencies, run with production dependencies and dist/ only.
#
#   docker build -t retry-sidecar:0.1.0 .
#   docker run --rm -e UPSTREAM_URL=http://billing:5002 -e LISTEN_HOST=0.0.0.0 -p 8080:8080 -p 9464:9464 retry-sidecar:0.1.0
#
# Node.js 24 is an LTS line (supported until April 2028). The tag is pinned to a patch release so
# that builds are repeatable; pin the digest as well (NODE_IMAGE=node:24.21.0-trixie-slim@sha256:...)
# in a release pipeline, and let a bot bump both. test/deploy/dockerfile.test.ts checks the pin.
ARG NODE_IMAGE=node:24.21.0-trixie-slim

# --- build: compile TypeScript to dist/ -----------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: package.json's "prepare" builds dist/ after an install in a clone, but the
# sources are not here yet; the build is the explicit step below. No dependency's install script
# runs in the image build either.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build
# One file instead of ~300 modules: dist/main.js and the production packages it imports, bundled
# by esbuild into bundle/main.js (scripts/bundle.mjs). It took 8 MB off the idle working set at no
# CPU or saturation-memory cost (bench/README.md "Memory as the kubelet sees it").
COPY scripts/bundle.mjs ./scripts/
RUN node scripts/bundle.mjs bundle

# --- deps: production dependencies only (what test/deploy/install-smoke.test.ts reproduces) -------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime: node, dist/ and node_modules; no npm, no compilers, no shell tools added ------------
FROM ${NODE_IMAGE} AS runtime
# The base image ships npm, npx, corepack and yarn; the sidecar needs none of them at run time.
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
WORKDIR /app
ENV NODE_ENV=production
# package.json carries "type": "module", which dist/*.js needs. Files stay owned by root: the
# process can read its code but not change it (the pod also mounts the root filesystem read-only).
COPY package.json ./
# node_modules is not read at run time (the bundle holds the code); it ships for its licence
# files and for the SBOM, and as what install-smoke reproduces.
COPY --from=deps /app/node_modules ./node_modules
# The bundle, as dist/main.js: the entry point stays the one npm start and the tests run.
COPY --from=build /app/bundle ./dist
# The proxy listens on 127.0.0.1 by default (only containers of the same pod reach it); set
# LISTEN_HOST=0.0.0.0 when running the image on its own. 9464 is the admin/metrics listener.
EXPOSE 8080 9464
# Numeric uid:gid (the image's "node" user) so that Kubernetes can enforce runAsNonRoot.
USER 1000:1000
# Docker only; Kubernetes uses the probes in k8s/deployment.yaml instead.
HEALTHCHECK --interval=10s --timeout=2s --start-period=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.ADMIN_PORT || 9464) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
# Exec form: node itself is PID 1 and receives SIGTERM (drains for SHUTDOWN_GRACE_MS, then exits 0).
# Arguments go to the sidecar: `docker run IMAGE --check-config` or `--help`.
#
# Memory settings, measured with `npm run bench` and bench/tools/memory-candidates.mjs inside the
# pod's memory limit (bench/README.md "Fitting 128Mi"): Node sizes its young generation from the
# cgroup limit, and inside 128Mi that is so small (1 MB semi-spaces) that scavenges and promotions
# cost throughput; 4 MB semi-spaces cost no throughput against 8 MB at the bench's load and hold
# ~8 MB less anonymous memory at saturation, which is what leaves node's own code pages room
# inside a 128Mi limit (with 8 MB the kernel evicted them under load and the throughput collapsed).
# Two malloc arenas instead of one per thread trim native memory without a measurable CPU cost.
# A fixed mmap threshold (glibc's own starting value, 128 KiB) stops glibc from raising it each
# time a large block is freed, after which later large blocks fragment the heap: 7.5 MB less
# anonymous memory at saturation, and less spread between processes, at no measurable CPU cost.
# No Maglev (V8's mid-tier compiler, on since Node 22; Node 20 has it off): under load its queued
# compile jobs hold 8-21 MB of zones at once during warm-up, which grow glibc's heaps for good;
# without it the anonymous memory at saturation is ~11 MB lower, the CPU per request the same
# (hot code still reaches TurboFan). On Node 20 the flag changes nothing.
ENV MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072
ENTRYPOINT ["node", "--max-semi-space-size=4", "--no-maglev", "dist/main.js"]

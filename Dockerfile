# kinu in a container: node:20-bookworm-slim (glibc, so sharp's prebuilt libvips applies), production
# dependencies only, a non-root user, port 8080. See deploy/README.md.
#   docker build -t kinu .
#   docker run --rm -p 8080:8080 kinu                                  # the sample images
#   docker run --rm -p 8080:8080 -e KINU_SOURCE=s3://bucket/originals -e AWS_REGION=… kinu

# Stage 1 compiles src/ to dist/ (`npm ci` runs `prepare`, the build); only dist/ leaves it.
FROM node:20-bookworm-slim AS build
WORKDIR /opt/kinu
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/build.mjs
COPY src ./src
RUN npm ci --no-audit --no-fund

FROM node:20-bookworm-slim

ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    KINU_HOST=0.0.0.0 \
    KINU_PORT=8080

WORKDIR /opt/kinu
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` (the build) needs the dev dependencies; sharp's prebuilt libvips needs no script.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
# dav1d in WebAssembly, read at run time by dist/pipeline/foreign/av1.js (AVIF sequences).
COPY vendor ./vendor
COPY --from=build /opt/kinu/dist ./dist
COPY client ./client
COPY examples ./examples

# The files stay root's and read-only; kinu runs as the image's unprivileged `node` user (uid 1000).
# Writable: a disk cache folder if you set KINU_CACHE_DIR (mount a volume).
USER node
EXPOSE 8080
# SIGTERM: kinu finishes in-flight requests and exits 0 (give `docker stop -t` more than KINU_TIMEOUT).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.KINU_PORT||8080)+'/_kinu/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "bin/kinu.js", "serve"]

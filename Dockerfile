# kinu in a container: node:20-bookworm-slim (glibc, so sharp's prebuilt libvips applies), production
# dependencies only, a non-root user, port 8080. See deploy/README.md.
#   docker build -t kinu .
#   docker run --rm -p 8080:8080 kinu                                  # the sample images
#   docker run --rm -p 8080:8080 -e KINU_SOURCE=s3://bucket/originals -e AWS_REGION=… kinu
FROM node:20-bookworm-slim

ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    KINU_HOST=0.0.0.0 \
    KINU_PORT=8080

WORKDIR /opt/kinu
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY examples ./examples

# The files stay root's and read-only; kinu runs as the image's unprivileged `node` user (uid 1000).
# Writable: /tmp (tsx's compile cache) and a disk cache folder if you set KINU_CACHE_DIR (mount a volume).
USER node
EXPOSE 8080
# SIGTERM: kinu finishes in-flight requests and exits 0 (give `docker stop -t` more than KINU_TIMEOUT).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.KINU_PORT||8080)+'/_kinu/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "bin/kinu.js", "serve"]

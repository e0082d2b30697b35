# CryptoIntellect: install, test and compile with Bun, then ship the single executable on an empty
# base with only what it needs (its shared libraries, CA certificates, a static busybox shell).
#
#   docker build -t cryptointellect .       (no image registry: README, "Building the image")
#   docker run -d --name cryptointellect -p 8080:8080 -v "$PWD/data:/data" cryptointellect
#   docker run -d --name ci-sim cryptointellect simulate      (the simulator, on every interface)
#
# Build arguments:
#   BUILD_IMAGE    Debian-based image with bun on PATH and apt (default oven/bun:1-debian)
#   RUNTIME_IMAGE  base of the final image (default scratch: the copied files are all it needs)
#   TEST_CMD       tests run before compiling; only those that need no external server
#                  ("true" skips them)
#
# The image: /usr/local/bin/cryptointellect, user 10001, WORKDIR and VOLUME /data. The entrypoint
# (scripts/docker-entrypoint.sh) points CRYPTOINTELLECT_CONFIG at /data/config.yml when that file
# exists, so every command, the HEALTHCHECK included, reads the same config; started as root it
# runs the program as 10001 all the same; it makes `simulate` listen on every interface. The
# HEALTHCHECK probes the service, or the simulator when that is what the container runs.

ARG BUILD_IMAGE=oven/bun:1-debian
ARG RUNTIME_IMAGE=scratch

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
# Dependencies first: this layer is rebuilt only when the lockfile changes.
COPY package.json bun.lock bunfig.toml ./
RUN bun install --frozen-lockfile
COPY . .
ARG TEST_CMD="bun test tests/domain tests/config"
RUN sh -c "$TEST_CMD"
# Build arguments are in RUN's environment: scripts/build.ts reads the commit from it (no .git here).
ARG CRYPTOINTELLECT_COMMIT=unknown
RUN bun run build && ./dist/cryptointellect --version

FROM ${BUILD_IMAGE} AS rootfs
RUN apt-get update \
 && apt-get install -y --no-install-recommends busybox-static ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/dist/cryptointellect /rootfs/usr/local/bin/cryptointellect
COPY scripts/docker-entrypoint.sh /rootfs/usr/local/bin/docker-entrypoint.sh
COPY scripts/docker-rootfs.sh /usr/local/bin/docker-rootfs.sh
RUN sh /usr/local/bin/docker-rootfs.sh /rootfs

FROM ${RUNTIME_IMAGE}
COPY --from=rootfs /rootfs/ /
ENV PATH=/usr/local/bin:/bin \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["/usr/local/bin/docker-entrypoint.sh", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["run"]
LABEL org.opencontainers.image.title="cryptointellect" \
      org.opencontainers.image.description="OHLCV candlesticks from Binance, Kraken, KuCoin and Poloniex to CSV and SQL"

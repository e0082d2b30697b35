#!/usr/bin/env bash
# Makes the base images the Docker test builds from, with no image registry at all: only Debian's
# package mirror and this machine's bun.
#
#   local/cryptointellect-ci-debian:bookworm   debootstrap --variant=minbase bookworm, docker import
#   local/cryptointellect-ci-bun:<bun>-<hash> that, plus this machine's bun binary and CA bundle
#                                              (the Dockerfile's BUILD_IMAGE)
#
# Prints the bun image's name on stdout (progress goes to stderr). Reuses what exists: the images
# in the engine, else the root filesystem tarball cached in $CACHE_DIR. This is also the recipe for
# building the image where no image registry can be reached (docs/docker.md: Building the image):
#
#   docker build -t cryptointellect --build-arg BUILD_IMAGE="$(sudo env "PATH=$PATH" scripts/docker-local-bases.sh)" .
# Environment: CACHE_DIR (default /var/cache/cryptointellect-ci), DEBIAN_MIRROR (default: the
# mirror apt uses here, else http://deb.debian.org/debian), DOCKER (default docker).
set -euo pipefail

cache_dir="${CACHE_DIR:-/var/cache/cryptointellect-ci}"
docker_cmd="${DOCKER:-docker}"
debian_image="local/cryptointellect-ci-debian:bookworm"

say() { printf 'docker-local-bases: %s\n' "$*" >&2; }

have_image() { "$docker_cmd" image inspect "$1" >/dev/null 2>&1; }

# The first Debian mirror apt is configured with (one-line or deb822 sources), else the default.
apt_mirror() {
  local uri
  uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    awk '/^deb / { for (i = 2; i <= NF; i++) if ($i ~ /^https?:.*\/debian\/?$/) { print $i; exit } }
         /^URIs:/ && $2 ~ /^https?:.*\/debian\/?$/ { print $2; exit }' | head -1)
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

make_debian_image() {
  local tarball="$cache_dir/debian-bookworm-minbase.tar" tree mirror
  if [ ! -s "$tarball" ]; then
    command -v debootstrap >/dev/null 2>&1 || { say "debootstrap is not installed (Debian: apt-get install debootstrap)"; return 1; }
    [ "$(id -u)" = 0 ] || { say "debootstrap needs root: run this with sudo env \"PATH=\$PATH\" $0"; return 1; }
    mirror="${DEBIAN_MIRROR:-$(apt_mirror)}"
    tree="$cache_dir/debian-bookworm-minbase.tree"
    rm -rf "$tree"
    say "debootstrap --variant=minbase bookworm from $mirror (about 40 s)"
    debootstrap --variant=minbase bookworm "$tree" "$mirror" >"$cache_dir/debootstrap.log" 2>&1 || {
      tail -20 "$cache_dir/debootstrap.log" >&2
      return 1
    }
    # Keep apt lists and caches out of the image; the build fetches fresh lists anyway.
    rm -rf "$tree"/var/cache/apt/archives/*.deb "$tree"/var/lib/apt/lists/*
    tar -C "$tree" -cf "$tarball.partial" . && mv "$tarball.partial" "$tarball"
    rm -rf "$tree"
  fi
  say "docker import $tarball as $debian_image"
  "$docker_cmd" import "$tarball" "$debian_image" >/dev/null
}

# The bun base's Dockerfile; its hash is part of the image tag, so a changed recipe makes a new one.
bun_dockerfile() {
  cat <<EOF
FROM $debian_image
COPY bun /usr/local/bin/bun
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# bun trusts its own bundled roots; this adds the ones this machine trusts (an egress proxy's).
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
RUN ln -s bun /usr/local/bin/bunx && bun --version
EOF
}

make_bun_image() {
  local image="$1" bun_path context
  bun_path=$(readlink -f "$(command -v bun)")
  context=$(mktemp -d)
  cp "$bun_path" "$context/bun"
  # The build stage installs from the npm registry; trust what this machine trusts.
  if [ -s /etc/ssl/certs/ca-certificates.crt ]; then
    cp /etc/ssl/certs/ca-certificates.crt "$context/ca-certificates.crt"
  else
    : >"$context/ca-certificates.crt"
  fi
  bun_dockerfile >"$context/Dockerfile"
  say "building $image from $bun_path"
  DOCKER_BUILDKIT=0 "$docker_cmd" build -q --network host -t "$image" "$context" >/dev/null 2>"$context/err" || {
    cat "$context/err" >&2
    rm -rf "$context"
    return 1
  }
  rm -rf "$context"
}

main() {
  local bun_image
  command -v bun >/dev/null 2>&1 || { say "bun is not on PATH"; return 1; }
  bun_image="local/cryptointellect-ci-bun:$(bun --version)-$(bun_dockerfile | sha256sum | cut -c1-8)"
  mkdir -p "$cache_dir"
  if ! have_image "$bun_image"; then
    have_image "$debian_image" || make_debian_image
    make_bun_image "$bun_image"
  fi
  printf '%s\n' "$bun_image"
}

main "$@"

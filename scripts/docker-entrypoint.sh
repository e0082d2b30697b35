#!/bin/sh
# The image's entrypoint (and its HEALTHCHECK's): uses /data/config.yml when it exists and
# CRYPTOINTELLECT_CONFIG names no other file, then becomes the cryptointellect process (exec), so
# SIGTERM from `docker stop` reaches the program itself.
#
# Setting the variable rather than adding `-c` keeps every command working: `simulate` and
# `--version` take no -c, `healthcheck` reads the HTTP port from the same file, and an explicit
# `-c FILE` still wins over the variable.
if [ -z "${CRYPTOINTELLECT_CONFIG:-}" ] && [ -f /data/config.yml ]; then
  CRYPTOINTELLECT_CONFIG=/data/config.yml
  export CRYPTOINTELLECT_CONFIG
fi
case "${1:-}" in
  # `docker run IMAGE cryptointellect config` works as well as `docker run IMAGE config`.
  cryptointellect) shift ;;
  # `docker run -it IMAGE sh` opens a shell, like `docker exec` does.
  sh | /*) exec "$@" ;;
esac
exec /usr/local/bin/cryptointellect "$@"

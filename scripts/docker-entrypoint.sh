#!/bin/sh
# The image's entrypoint (and its HEALTHCHECK's): uses /data/config.yml when it exists and
# CRYPTOINTELLECT_CONFIG names no other file, then becomes the cryptointellect process (exec), so
# SIGTERM from `docker stop` reaches the program itself.
#
# Setting the variable rather than adding `-c` keeps every command working: `simulate` and
# `--version` take no -c, `healthcheck` reads the HTTP port from the same file, and an explicit
# `-c FILE` still wins over the variable.
#
# Never root: started as uid 0 (`--user 0`, or `--user "$(id -u):$(id -g)"` typed as root), it hands
# the data directory to the image's user 10001 and runs the program as that user, as the official
# database images do; a config only root may read is given to that user as a private copy.
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
case "${1:-}" in
  # In a container the simulator must listen on every interface to be reachable from outside it
  # (a --host given after this one wins).
  simulate) shift && set -- simulate --host 0.0.0.0 "$@" ;;
esac
if [ "$(id -u)" = 0 ]; then
  case "${1:-run}" in
    run | once | backfill | migrate | -c | --config | --config=*)
      # What the program writes: the working directory and the data under it.
      chown 10001:10001 /data 2>/dev/null
      if [ -d /data/cryptointellect ]; then chown -R 10001:10001 /data/cryptointellect 2>/dev/null; fi
      ;;
  esac
  # shellcheck disable=SC2016  # $0 and $@ are the inner shell's, on purpose (twice below)
  if [ -n "${CRYPTOINTELLECT_CONFIG:-}" ] && [ -f "$CRYPTOINTELLECT_CONFIG" ] &&
    ! su -s /bin/sh cryptointellect -c 'test -r "$0"' "$CRYPTOINTELLECT_CONFIG"; then
    # The health probe has its own copy, so it never rewrites the one the service is reading.
    copy=/tmp/cryptointellect-config.yml
    if [ "${1:-}" = healthcheck ]; then copy=/tmp/cryptointellect-config.healthcheck.yml; fi
    rm -f "$copy"
    (umask 077 && cat "$CRYPTOINTELLECT_CONFIG" >"$copy") && chown 10001:10001 "$copy" &&
      CRYPTOINTELLECT_CONFIG="$copy"
  fi
  # busybox su, as root: no password, HOME=/data, the rest of the environment kept, and exec all
  # the way down, so the program stays process 1 and gets docker stop's SIGTERM.
  # shellcheck disable=SC2016
  exec su -s /bin/sh cryptointellect -c 'exec "$0" "$@"' /usr/local/bin/cryptointellect "$@"
fi
exec /usr/local/bin/cryptointellect "$@"

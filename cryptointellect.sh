# shellcheck shell=bash
# cryptointellect.sh: set up the CryptoIntellect container and the ci_* shell functions.
#
#   source cryptointellect.sh -c config.yml    # bash or zsh: container + ci_* functions
#   bash cryptointellect.sh -c config.yml      # container only (functions die with the child shell)
#
# Meant to be sourced into an interactive shell, so it is careful: all work happens inside functions
# with local variables, the shell options it touches (errexit, nounset, pipefail) are restored, it
# never calls `exit` when sourced, and the only names it leaves behind are ci_start, ci_stop,
# ci_attach, ci_logs and ci_status.

if [ -z "${BASH_VERSION:-}" ] && [ -z "${ZSH_VERSION:-}" ]; then
  printf 'cryptointellect.sh: needs bash or zsh\n' >&2
  # shellcheck disable=SC2317  # the exit is reached only when this file is executed, not sourced
  return 1 2>/dev/null || exit 1
fi

__cryptointellect_usage() {
  command cat <<'EOF'
Usage: source cryptointellect.sh [options]    (bash or zsh; or: bash cryptointellect.sh [options])

Gets the CryptoIntellect image (pulls it; when it cannot be pulled and is not on this machine,
builds it from this checkout), validates your config with it, then creates and starts the
container "cryptointellect_container" (or keeps the one that already exists), and defines:

  ci_start    start the container            ci_logs    follow its logs (args go to docker logs)
  ci_stop     stop it (SIGTERM, clean exit)  ci_status  its state and health
  ci_attach   a shell inside it (args: a command to run instead)

Options:
  -c, --config FILE  config (YAML), mounted read-only at /data/config.yml; default: ./config.yml
                     when it exists, otherwise the built-in defaults
      --dir DIR      data directory on this machine, mounted at /data/cryptointellect
                     (default: ./cryptointellect); CSV files land in DIR/csv
      --port PORT    host port for the HTTP endpoint (/health, /metadata, /metrics), also
                     IP:PORT such as 127.0.0.1:8080 (default: 8080)
  -e, --env VAR[=VALUE]  environment variable for the container (DATABASE_URL=..., repeatable)
      --network NET  Docker network to join (docker network create NET first)
      --add-host HOST:IP  extra /etc/hosts entry (host.docker.internal:host-gateway, repeatable)
      --image IMAGE  image (default: $CRYPTOINTELLECT_IMAGE, else
                     ghcr.io/cryptointellect/cryptointellect:latest)
      --build        build the image from this checkout instead of pulling it
                     (tagged cryptointellect:local unless --image is given)
      --build-arg NAME=VALUE  passed to docker build (BUILD_IMAGE=..., repeatable)
      --no-pull      use the image already on this machine (docker load, air-gapped hosts)
  -a, --alias        only define the ci_* functions; no container work
  -h, --help         show this help

Running it again keeps the container when nothing changed (and starts it if stopped); other
options, another image or an edited config recreate it (docker rm -f -v: the data stays in DIR).
The container never runs as root: it runs as you, or as uid 10001 when you are root; a config
that user cannot read (root's, mode 0600) reaches it as a private 0600 copy, DIR/.config.yml.
Returns 0 on success, 1 on failure (no docker, missing or invalid config), 2 on bad usage.
EOF
}

__cryptointellect_say() {
  builtin printf 'cryptointellect.sh: %s\n' "$*"
}

__cryptointellect_fail() {
  builtin printf 'cryptointellect.sh: error: %s\n' "$*" >&2
}

# Absolute path of an existing file or directory, without changing the caller's directory.
__cryptointellect_abspath() {
  local parent base resolved
  if [ -d "$1" ]; then
    resolved=$(CDPATH='' builtin cd -- "$1" >/dev/null 2>&1 && builtin pwd -P) || return 1
    builtin printf '%s\n' "$resolved"
    return 0
  fi
  parent=$(command dirname -- "$1")
  base=$(command basename -- "$1")
  resolved=$(CDPATH='' builtin cd -- "$parent" >/dev/null 2>&1 && builtin pwd -P) || return 1
  builtin printf '%s/%s\n' "${resolved%/}" "$base"
}

__cryptointellect_define_functions() {
  ci_start() { docker start cryptointellect_container; }
  ci_stop() { docker stop cryptointellect_container; }
  # A terminal gets -it; from a script or a pipe, -i alone (docker refuses -t without a TTY).
  ci_attach() {
    local tty_flag=-i
    if [ -t 0 ] && [ -t 1 ]; then tty_flag=-it; fi
    if [ "$#" -eq 0 ]; then
      docker exec "$tty_flag" cryptointellect_container sh
    else
      docker exec "$tty_flag" cryptointellect_container "$@"
    fi
  }
  ci_logs() {
    if [ "$#" -eq 0 ]; then
      docker logs --tail 100 -f cryptointellect_container
    else
      docker logs "$@" cryptointellect_container
    fi
  }
  # Prints e.g. "running (healthy)"; returns 0 while the container runs and is not unhealthy.
  ci_status() {
    local state
    state=$(docker inspect -f '{{.State.Status}}{{if .State.Health}} ({{.State.Health.Status}}){{end}}' \
      cryptointellect_container) || return 1
    builtin printf '%s\n' "$state"
    case "$state" in
      'running (unhealthy)') return 1 ;;
      running*) return 0 ;;
      *) return 1 ;;
    esac
  }
}

# Whether uid $1, gid $2 may read file $3, by its mode bits (the container gets no supplementary groups).
__cryptointellect_readable_by() {
  local perms links file_uid file_gid rest
  # shellcheck disable=SC2034  # links and rest: fields of ls -ln skipped over
  read -r perms links file_uid file_gid rest <<EOF
$(command ls -lnd -- "$3" 2>/dev/null)
EOF
  case "$perms" in ???????r*) return 0 ;; esac
  case "$perms" in ?r*) [ "$file_uid" = "$1" ] && return 0 ;; esac
  case "$perms" in ????r*) [ "$file_gid" = "$2" ] && return 0 ;; esac
  return 1
}

# docker build -t $1 [build args] $2; the build args follow as the remaining arguments.
__cryptointellect_build() {
  local tag="$1" context="$2"
  shift 2
  if docker build -t "$tag" "$@" "$context"; then
    return 0
  fi
  __cryptointellect_fail "docker build failed. Where its base image (BUILD_IMAGE, default oven/bun:1-debian)" \
    "cannot be pulled, make one with $context/scripts/docker-local-bases.sh (it prints its name) and" \
    "pass it with --build-arg BUILD_IMAGE=NAME"
  return 1
}

# $1: "sourced" or "executed"; $2: this file's path; the rest: the user's arguments.
__cryptointellect_main() {
  local mode="$1" self="$2"
  shift 2
  local config="" data_dir="" port="8080" image="" build=0 alias_only=0 pull=1 network=""
  local container="cryptointellect_container" label_key="cryptointellect.sh.settings"
  local default_image="${CRYPTOINTELLECT_IMAGE:-ghcr.io/cryptointellect/cryptointellect:latest}"
  local config_abs="" config_src="" config_sum="" data_abs="" checkout="" output="" rc=0
  local run_uid="" run_gid="" private_dir="" private_config="" image_id="" settings="" state="" word=""
  local wanted="" reason=""
  local -a user_args=() config_mount=() build_args=() env_args=() net_args=()

  while [ "$#" -gt 0 ]; do
    case "$1" in
      -h | --help)
        __cryptointellect_usage
        return 0
        ;;
      -a | --alias) alias_only=1 ;;
      --build) build=1 ;;
      --no-pull) pull=0 ;;
      -c | --config | --dir | --port | --image | -e | --env | --network | --add-host | --build-arg)
        if [ "$#" -lt 2 ] || [ -z "$2" ]; then
          __cryptointellect_fail "$1 needs a value (see -h)"
          return 2
        fi
        case "$1" in
          -c | --config) config="$2" ;;
          --dir) data_dir="$2" ;;
          --port) port="$2" ;;
          --image) image="$2" ;;
          -e | --env) env_args+=(-e "$2") ;;
          --network) network="$2" ;;
          --add-host) net_args+=(--add-host "$2") ;;
          --build-arg) build_args+=(--build-arg "$2") ;;
        esac
        shift
        ;;
      --config=*) config="${1#*=}" ;;
      --dir=*) data_dir="${1#*=}" ;;
      --port=*) port="${1#*=}" ;;
      --image=*) image="${1#*=}" ;;
      --env=*) env_args+=(-e "${1#*=}") ;;
      --network=*) network="${1#*=}" ;;
      --add-host=*) net_args+=(--add-host "${1#*=}") ;;
      --build-arg=*) build_args+=(--build-arg "${1#*=}") ;;
      *)
        __cryptointellect_fail "unknown argument: $1 (see -h)"
        return 2
        ;;
    esac
    shift
  done

  case "$port" in
    '' | *[!0-9.:]* | *:) __cryptointellect_fail "--port wants PORT or IP:PORT, not '$port'"; return 2 ;;
  esac
  [ -z "$network" ] || net_args=(--network "$network" ${net_args[@]+"${net_args[@]}"})

  if [ "$alias_only" = 1 ]; then
    __cryptointellect_define_functions
    if [ "$mode" = executed ]; then
      __cryptointellect_say "functions defined only in this child shell: source the script instead"
    else
      __cryptointellect_say "defined ci_start ci_stop ci_attach ci_logs ci_status"
    fi
    return 0
  fi

  if ! command -v docker >/dev/null 2>&1; then
    __cryptointellect_fail "docker not found on PATH: install Docker Engine or Docker Desktop first"
    return 1
  fi

  if [ -z "$config" ] && [ -f ./config.yml ]; then
    config=./config.yml
  fi
  if [ -n "$config" ]; then
    if [ ! -f "$config" ]; then
      __cryptointellect_fail "config file not found: $config"
      return 1
    fi
    if [ ! -r "$config" ]; then
      __cryptointellect_fail "config file not readable: $config"
      return 1
    fi
    config_abs=$(__cryptointellect_abspath "$config") || {
      __cryptointellect_fail "cannot resolve the path of $config"
      return 1
    }
  fi

  if ! docker info >/dev/null 2>&1; then
    __cryptointellect_fail "cannot reach the Docker engine: is it running, and may you use it (docker group)?"
    return 1
  fi

  # The container never runs as root: it writes as you (so the files are yours); as root it keeps
  # the image's user 10001 (a --user from root's id would be uid 0).
  run_uid=$(command id -u)
  run_gid=$(command id -g)
  if [ "$run_uid" = 0 ]; then
    run_uid=10001
    run_gid=10001
  else
    user_args=(--user "$run_uid:$run_gid")
  fi

  checkout=$(command dirname -- "$self")
  if [ "$build" = 1 ]; then
    [ -n "$image" ] || image="cryptointellect:local"
    if [ ! -f "$checkout/Dockerfile" ]; then
      __cryptointellect_fail "--build needs the source checkout: no Dockerfile beside $self"
      return 1
    fi
    __cryptointellect_say "building $image from $checkout"
    __cryptointellect_build "$image" "$checkout" ${build_args[@]+"${build_args[@]}"} || return 1
  else
    wanted="${image:-$default_image}"
    if [ "$pull" = 1 ]; then
      __cryptointellect_say "pulling $wanted"
      output=$(docker pull "$wanted" 2>&1)
      rc=$?
    else
      rc=1
    fi
    if [ "$rc" -eq 0 ]; then
      image="$wanted"
    elif docker image inspect "$wanted" >/dev/null 2>&1; then
      [ "$pull" = 0 ] || __cryptointellect_say "pull failed; using the local copy of $wanted"
      image="$wanted"
    elif [ "$pull" = 0 ]; then
      __cryptointellect_fail "no image $wanted on this machine (--no-pull)"
      return 1
    elif [ -f "$checkout/Dockerfile" ]; then
      # Nothing to pull (no registry, or no published image): build the one this checkout describes.
      [ -n "$image" ] || image="cryptointellect:local"
      reason="${output##*$'\n'}"
      __cryptointellect_say "cannot pull $wanted${reason:+ ($reason)}; building $image from the checkout $checkout instead"
      __cryptointellect_build "$image" "$checkout" ${build_args[@]+"${build_args[@]}"} || return 1
    else
      builtin printf '%s\n' "$output" >&2
      __cryptointellect_fail "cannot pull $wanted, there is no local copy, and no checkout beside $self to build it from"
      return 1
    fi
  fi
  image_id=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null)

  if [ -n "$config_abs" ]; then
    config_src="$config_abs"
    # A config the container's user may not read (root's 0600 file): the container gets a private
    # copy, owned by that user and as closed (0600); the file itself is left as it is.
    if ! __cryptointellect_readable_by "$run_uid" "$run_gid" "$config_abs"; then
      private_dir=$(command mktemp -d) || return 1
      private_config="$private_dir/config.yml"
      if ! (umask 077 && command cp -- "$config_abs" "$private_config") ||
        { [ "$(command id -u)" = 0 ] && ! command chown "$run_uid:$run_gid" "$private_config"; }; then
        command rm -rf -- "$private_dir"
        __cryptointellect_fail "cannot make a copy of $config readable by the container's user ($run_uid)"
        return 1
      fi
      config_src="$private_config"
    fi
    config_mount=(-v "$config_src:/data/config.yml:ro")
    output=$(docker run --rm --network none ${user_args[@]+"${user_args[@]}"} "${config_mount[@]}" \
      ${env_args[@]+"${env_args[@]}"} "$image" config -c /data/config.yml 2>&1)
    rc=$?
    if [ "$rc" -ne 0 ]; then
      [ -z "$private_dir" ] || command rm -rf -- "$private_dir"
      builtin printf '%s\n' "$output" >&2
      __cryptointellect_fail "config $config is not valid (exit $rc); nothing was started"
      return 1
    fi
    __cryptointellect_say "config $config is valid"
    config_sum=$(command cksum <"$config_abs")
  else
    __cryptointellect_say "no config: using the built-in defaults (see -h for -c)"
  fi

  [ -n "$data_dir" ] || data_dir="./cryptointellect"
  if ! command mkdir -p "$data_dir/csv"; then
    [ -z "$private_dir" ] || command rm -rf -- "$private_dir"
    __cryptointellect_fail "cannot create $data_dir/csv"
    return 1
  fi
  data_abs=$(__cryptointellect_abspath "$data_dir") || {
    [ -z "$private_dir" ] || command rm -rf -- "$private_dir"
    __cryptointellect_fail "cannot resolve the path of $data_dir"
    return 1
  }
  if [ "$(command id -u)" = 0 ] && ! command chown 10001:10001 "$data_abs" "$data_abs/csv"; then
    [ -z "$private_dir" ] || command rm -rf -- "$private_dir"
    return 1
  fi
  # The private copy lives beside the data, where the container's user already owns the files.
  if [ -n "$private_dir" ]; then
    if ! command mv -f -- "$private_config" "$data_abs/.config.yml"; then
      command rm -rf -- "$private_dir"
      __cryptointellect_fail "cannot place the config copy in $data_abs"
      return 1
    fi
    command rm -rf -- "$private_dir"
    config_src="$data_abs/.config.yml"
    config_mount=(-v "$config_src:/data/config.yml:ro")
    __cryptointellect_say "$config is not readable by the container's user ($run_uid): it reads a copy, $config_src (mode 0600; run this again after editing $config)"
  elif [ -f "$data_abs/.config.yml" ]; then
    command rm -f -- "$data_abs/.config.yml"
  fi

  # Everything the container is made from; a container made from other settings is recreated.
  settings="$image $image_id|$port|$data_abs|$config_src $config_sum|${user_args[*]-}|${net_args[*]-}|${env_args[*]-}"
  settings=$(builtin printf '%s' "$settings" | command cksum)
  settings="${settings%% *}"

  state=$(docker container inspect -f "{{.State.Running}} {{index .Config.Labels \"$label_key\"}}" "$container" 2>/dev/null)
  word="${state%% *}"
  if [ -n "$word" ] && [ "${state#* }" != "$settings" ]; then
    __cryptointellect_say "$container was made with other settings (options, image or config): recreating it"
    docker rm -f -v "$container" >/dev/null || {
      __cryptointellect_fail "docker rm -f -v $container failed"
      return 1
    }
    word=""
  fi
  case "$word" in
    true)
      __cryptointellect_say "$container is already running with these settings (kept as it is)"
      ;;
    false)
      __cryptointellect_say "starting the existing $container"
      docker start "$container" >/dev/null || {
        __cryptointellect_fail "docker start $container failed"
        return 1
      }
      ;;
    *)
      __cryptointellect_say "creating $container from $image"
      docker run -d --name "$container" --restart unless-stopped --label "$label_key=$settings" \
        -p "$port:8080" \
        -v "$data_abs:/data/cryptointellect" \
        ${config_mount[@]+"${config_mount[@]}"} ${user_args[@]+"${user_args[@]}"} \
        ${net_args[@]+"${net_args[@]}"} ${env_args[@]+"${env_args[@]}"} \
        "$image" >/dev/null || {
        __cryptointellect_fail "docker run failed"
        return 1
      }
      ;;
  esac

  __cryptointellect_say "data in $data_abs (CSV in $data_abs/csv); health: http://localhost:${port##*:}/health"
  if [ "$mode" = sourced ]; then
    __cryptointellect_define_functions
    __cryptointellect_say "functions: ci_status ci_logs ci_attach ci_stop ci_start"
  else
    __cryptointellect_say "source the script (not bash) to get the ci_* functions, or use -a later"
  fi
  return 0
}

# Runs main with the caller's options neutralised, restores them, removes every helper (itself
# included), and hands back main's status: `return` when sourced, `exit` only when executed.
__cryptointellect_entry() {
  if [ -n "${ZSH_VERSION:-}" ]; then
    # zsh restores every option changed in here when this function returns.
    emulate -L zsh
  fi
  local entry_mode="$1" entry_rc=0 had_e=0 had_u=0 had_pipefail=0
  if [ -n "${BASH_VERSION:-}" ]; then
    case "$-" in *e*) had_e=1 ;; esac
    case "$-" in *u*) had_u=1 ;; esac
    if shopt -qo pipefail; then had_pipefail=1; fi
    set +e +u +o pipefail
  fi

  if __cryptointellect_main "$@"; then entry_rc=0; else entry_rc=$?; fi

  if [ -n "${BASH_VERSION:-}" ]; then
    if [ "$had_pipefail" = 1 ]; then set -o pipefail; fi
    if [ "$had_u" = 1 ]; then set -u; fi
    if [ "$had_e" = 1 ]; then set -e; fi
  fi
  unset -f __cryptointellect_usage __cryptointellect_say __cryptointellect_fail \
    __cryptointellect_abspath __cryptointellect_define_functions __cryptointellect_readable_by \
    __cryptointellect_build __cryptointellect_main __cryptointellect_entry
  if [ "$entry_mode" = executed ]; then
    exit "$entry_rc"
  fi
  return "$entry_rc"
}

if [ -n "${ZSH_VERSION:-}" ]; then
  case "${ZSH_EVAL_CONTEXT:-}" in
    *:file*) eval '__cryptointellect_entry sourced "${(%):-%x}" "$@"' ;;
    *) eval '__cryptointellect_entry executed "${(%):-%x}" "$@"' ;;
  esac
elif (return 0 2>/dev/null); then
  __cryptointellect_entry sourced "${BASH_SOURCE[0]}" "$@"
else
  __cryptointellect_entry executed "${BASH_SOURCE[0]}" "$@"
fi

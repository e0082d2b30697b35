#!/usr/bin/env bash
# The Docker image, tested for real: builds it from local base images (no image registry needed),
# runs the simulator and the service from it, and checks what a user relies on: the HEALTHCHECK
# turns healthy (the simulator's too), CSV rows land in the mounted host directory owned by the
# container's user, the process is not root (not even when started with root's `--user`), `docker
# stop` is quick and clean, the image stays under 150 MB; and cryptointellect.sh sets up, drives,
# recreates and (when it cannot pull) builds a container from that image.
#
#   scripts/docker-test.sh           prints "docker-test: PASS", "FAIL" or "SKIP" as its last line
#
# Uses a running Docker engine if there is one; otherwise, as root with dockerd installed
# (Debian: apt-get install docker.io debootstrap), starts a private one for the run and stops it
# afterwards. Images and the debootstrap tarball are cached in $CACHE_DIR, so a second run only
# rebuilds what changed. No container gets a network beyond loopback: the simulator runs with
# --network none and the service joins its network namespace, so they talk over 127.0.0.1 there.
#
# Environment: CACHE_DIR (default /var/cache/cryptointellect-ci), DOCKER_TEST_REQUIRED=1 (a SKIP
# becomes a FAIL), DOCKER_TEST_CMD (the image's TEST_CMD build argument), KEEP_WORK=1 (keep the
# scratch directory with logs and data).
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
export CACHE_DIR="${CACHE_DIR:-/var/cache/cryptointellect-ci}"
image="cryptointellect:ci-test"
sim_name="cryptointellect-ci-sim"
svc_name="cryptointellect-ci-svc"
root_name="cryptointellect-ci-root"
fallback_image="localhost:9/cryptointellect:ci-fallback" # a registry that refuses at once: the pull fails
base=""
run_dir=/run/cryptointellect-ci
max_image_bytes=150000000
max_stop_ms=3000
work=""
dockerd_pid=""
engine_up=""
script_container="" # set once the cryptointellect.sh check may have created cryptointellect_container
passed=0
failed=0
started_at=$SECONDS
export DOCKER_BUILDKIT=0 # the classic builder: no buildx plugin, no frontend image to pull

say() { printf 'docker-test: %s\n' "$*"; }
ok() {
  passed=$((passed + 1))
  say "ok   $*"
}
bad() {
  failed=$((failed + 1))
  say "FAIL $*"
}
elapsed() { printf '%dm%02ds' $(((SECONDS - $1) / 60)) $(((SECONDS - $1) % 60)); }

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local name
  trap - EXIT INT TERM
  if [ -n "$engine_up" ]; then
    for name in "$svc_name" "$root_name" "$sim_name" ${script_container:+cryptointellect_container}; do
      docker rm -f -v "$name" >/dev/null 2>&1
    done
    docker rmi "$fallback_image" >/dev/null 2>&1
    # On our private engine, drop the images that earlier builds left untagged (keeps the cache small).
    [ -n "$dockerd_pid" ] && docker image prune -f >/dev/null 2>&1 && docker volume prune -f >/dev/null 2>&1
  fi
  if [ -n "$dockerd_pid" ]; then
    kill -TERM "$dockerd_pid" 2>/dev/null
    for _ in $(seq 1 30); do
      kill -0 "$dockerd_pid" 2>/dev/null || break
      sleep 1
    done
    kill -KILL "$dockerd_pid" 2>/dev/null
    rm -f "$run_dir/dockerd.pid"
  fi
  if [ -n "$work" ] && [ -z "${KEEP_WORK:-}" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

finish() {
  say "$passed passed, $failed failed"
  if [ "$failed" -gt 0 ]; then
    say "FAIL ($failed of $((passed + failed)) checks failed; $(elapsed "$started_at"))"
    exit 1
  fi
  say "PASS ($passed checks; $(elapsed "$started_at"))"
  exit 0
}

skip() {
  if [ -n "${DOCKER_TEST_REQUIRED:-}" ]; then
    bad "$*"
    finish
  fi
  say "SKIP: $*"
  exit 0
}

# Fails the run at once: the later checks need what this step should have made.
abort() {
  bad "$*"
  finish
}

# A running engine if there is one, else our own dockerd on a private socket, with its data
# (images, build cache) under $CACHE_DIR so the next run starts warm.
start_engine() {
  local driver
  if docker info >/dev/null 2>&1; then
    say "engine: using the running Docker engine $(docker version -f '{{.Server.Version}}' 2>/dev/null)"
    return 0
  fi
  command -v docker >/dev/null 2>&1 || skip "no docker CLI (apt-get install docker.io)"
  command -v dockerd >/dev/null 2>&1 || skip "no Docker engine running and no dockerd to start (apt-get install docker.io)"
  [ "$(id -u)" = 0 ] || skip "no Docker engine running, and starting one needs root"
  mkdir -p "$run_dir" "$CACHE_DIR/docker"
  export DOCKER_HOST="unix://$run_dir/docker.sock"
  # A private engine left behind by an interrupted run: take it over, and stop it at the end.
  if [ -s "$run_dir/dockerd.pid" ] && kill -0 "$(cat "$run_dir/dockerd.pid")" 2>/dev/null; then
    dockerd_pid=$(cat "$run_dir/dockerd.pid")
    if docker info >/dev/null 2>&1; then
      say "engine: reusing the private dockerd (pid $dockerd_pid)"
      return 0
    fi
    kill -TERM "$dockerd_pid" 2>/dev/null
    sleep 3
    dockerd_pid=""
  fi
  for driver in overlay2 vfs; do
    rm -f "$run_dir/dockerd.pid"
    dockerd --data-root "$CACHE_DIR/docker" --exec-root "$run_dir/exec" \
      --pidfile "$run_dir/dockerd.pid" --host "unix://$run_dir/docker.sock" \
      --storage-driver "$driver" --bridge none --iptables=false --ip-forward=false \
      >"$work/dockerd.log" 2>&1 &
    dockerd_pid=$!
    for _ in $(seq 1 30); do
      if docker info >/dev/null 2>&1; then
        say "engine: started a private dockerd $(docker version -f '{{.Server.Version}}') ($driver, data in $CACHE_DIR/docker)"
        return 0
      fi
      kill -0 "$dockerd_pid" 2>/dev/null || break
      sleep 1
    done
    kill -TERM "$dockerd_pid" 2>/dev/null
    wait "$dockerd_pid" 2>/dev/null
    dockerd_pid=""
    say "engine: dockerd with $driver did not come up:"
    tail -5 "$work/dockerd.log" | sed 's/^/docker-test:   /'
  done
  skip "could not start a Docker engine"
}

build_image() {
  local bases_started=$SECONDS build_started
  base=$("$repo/scripts/docker-local-bases.sh" 2>"$work/bases.log") || {
    sed 's/^/docker-test:   /' "$work/bases.log"
    if [ ! -s "$CACHE_DIR/debian-bookworm-minbase.tar" ] && ! command -v debootstrap >/dev/null 2>&1; then
      skip "no local Debian base and no debootstrap to make one (apt-get install debootstrap)"
    fi
    abort "could not make the local base images"
  }
  say "bases: BUILD_IMAGE=$base ($(elapsed "$bases_started"))"
  build_started=$SECONDS
  if docker build --network host -t "$image" \
    --build-arg "BUILD_IMAGE=$base" --build-arg "RUNTIME_IMAGE=scratch" \
    --build-arg "CRYPTOINTELLECT_COMMIT=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    ${DOCKER_TEST_CMD:+--build-arg "TEST_CMD=$DOCKER_TEST_CMD"} \
    "$repo" >"$work/build.log" 2>&1; then
    ok "docker build from local bases ($(elapsed "$build_started"))"
  else
    tail -40 "$work/build.log" | sed 's/^/docker-test:   /'
    abort "docker build failed (log above)"
  fi
}

check_image() {
  local size meta
  size=$(docker image inspect -f '{{.Size}}' "$image")
  if [ "$size" -lt "$max_image_bytes" ]; then
    ok "image size $((size / 1000000)) MB < $((max_image_bytes / 1000000)) MB"
  else
    bad "image size $((size / 1000000)) MB is not under $((max_image_bytes / 1000000)) MB"
  fi
  meta=$(docker image inspect -f 'user={{.Config.User}} workdir={{.Config.WorkingDir}} volumes={{range $k, $v := .Config.Volumes}}{{$k}}{{end}} ports={{range $k, $v := .Config.ExposedPorts}}{{$k}}{{end}} stopsignal={{.Config.StopSignal}} healthcheck={{if .Config.Healthcheck}}{{join .Config.Healthcheck.Test " "}}{{end}}' "$image")
  case "$meta" in
    "user=10001:10001 workdir=/data volumes=/data ports=8080/tcp stopsignal=SIGTERM healthcheck=CMD /usr/local/bin/docker-entrypoint.sh healthcheck")
      ok "image metadata: $meta" ;;
    *) bad "image metadata: $meta" ;;
  esac
  if docker run --rm --network none "$image" --version >"$work/version.txt" 2>&1; then
    ok "the binary runs on the bare image: $(head -1 "$work/version.txt")"
  else
    bad "cryptointellect --version in the image: $(head -3 "$work/version.txt")"
  fi
}

write_configs() {
  local data="$1" name
  {
    printf 'bucketing_interval: 1m\n'
    printf 'exchanges: [Binance, Kraken, Kucoin, Poloniex]\n'
    printf 'n_coins_to_poll: 2\n'
    printf 'list_coins_to_poll: [Neo]\n'
    printf 'save_to_csv: true\n'
    printf 'settle_seconds: 1\n'
    printf 'api_base_urls:\n'
    for name in binance kraken kucoin poloniex coingecko; do
      printf '  %s: http://127.0.0.1:9700/%s\n' "$name" "$name"
    done
  } >"$data/config.yml"
  printf 'bucketing_interval: 30s\nexchanges: [Bitfinex]\n' >"$work/bad-config.yml"
  chmod 0644 "$data/config.yml" "$work/bad-config.yml"
}

check_config_validation() {
  local rc
  docker run --rm --network none -v "$work/data/config.yml:/data/config.yml:ro" "$image" \
    config -c /data/config.yml >"$work/config-ok.txt" 2>&1
  rc=$?
  if [ "$rc" = 0 ]; then ok "config validates in the image (exit 0)"; else
    bad "config validation of the test config: exit $rc: $(head -5 "$work/config-ok.txt")"
  fi
  # No -c: the entrypoint must find /data/config.yml in the volume by itself.
  docker run --rm --network none -v "$work/data:/data" "$image" config >"$work/config-found.txt" 2>&1
  if grep -q '127.0.0.1:9700/binance' "$work/config-found.txt"; then
    ok "the entrypoint uses /data/config.yml when it exists"
  else
    bad "config without -c did not read /data/config.yml: $(head -5 "$work/config-found.txt")"
  fi
  docker run --rm --network none -v "$work/bad-config.yml:/data/config.yml:ro" "$image" \
    config -c /data/config.yml >"$work/config-bad.txt" 2>&1
  rc=$?
  if [ "$rc" = 2 ]; then ok "a bad config is rejected in the image (exit 2)"; else
    bad "a bad config gave exit $rc, not 2: $(head -5 "$work/config-bad.txt")"
  fi
}

# $1: the container; $2: what it runs (for the message).
wait_healthy() {
  local name="$1" what="$2" status="" since=$SECONDS
  while [ $((SECONDS - since)) -lt 120 ]; do
    status=$(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "$name" 2>/dev/null)
    case "$status" in
      "running healthy")
        ok "HEALTHCHECK reports $what healthy after $((SECONDS - since)) s"
        return 0
        ;;
      "running unhealthy") break ;;
      running*) sleep 1 ;;
      *) break ;;
    esac
  done
  bad "HEALTHCHECK of $what did not turn healthy (state: $status); last probe output and logs:"
  docker inspect -f '{{range .State.Health.Log}}{{.ExitCode}}: {{.Output}}{{end}}' "$name" 2>&1 | tail -5 | sed 's/^/docker-test:   /'
  docker logs --tail 20 "$name" 2>&1 | sed 's/^/docker-test:   /'
  return 1
}

# The simulator as the README's demo runs it: listening on every interface, saying where its URLs
# work, and healthy by its own HEALTHCHECK.
check_simulator() {
  wait_healthy "$sim_name" "the simulator"
  # Output captured first, then searched: with pipefail, `cmd | grep -q` fails at random when grep
  # stops reading before cmd has written everything (cmd dies of SIGPIPE).
  local tcp banner
  tcp=$(docker exec "$sim_name" cat /proc/net/tcp 2>&1)
  banner=$(docker logs "$sim_name" 2>&1)
  if grep -q '^ *[0-9]*: 00000000:25E4 00000000:0000 0A ' <<<"$tcp"; then
    ok "the simulator listens on 0.0.0.0:9700 in the container (no --host needed)"
  else
    bad "the simulator does not listen on 0.0.0.0:9700: $(docker logs --tail 3 "$sim_name" 2>&1 | tr '\n' ' ')"
  fi
  if grep -q 'listening on 0.0.0.0:9700 (every interface)' <<<"$banner" && grep -q -- '--network container:NAME' <<<"$banner"; then
    ok "the simulator's banner says where its 127.0.0.1 URLs work"
  else
    bad "the simulator's banner: $(docker logs "$sim_name" 2>&1 | head -3 | tr '\n' ' ')"
  fi
}

# $1: the CSV folder on the host; $2: the container writing it.
wait_for_csv() {
  local csv_dir="$1" name="${2:-$svc_name}" since=$SECONDS file rows=0 owners
  while [ $((SECONDS - since)) -lt 150 ]; do
    rows=0
    for file in "$csv_dir"/*.csv; do
      [ -f "$file" ] || continue
      rows=$((rows + $(wc -l <"$file") - 1))
    done
    [ "$rows" -gt 0 ] && break
    [ "$(docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" = true ] || break
    sleep 2
  done
  if [ "$rows" -le 0 ]; then
    bad "no CSV rows under $csv_dir after $((SECONDS - since)) s"
    docker logs --tail 20 "$name" 2>&1 | sed 's/^/docker-test:   /'
    return 1
  fi
  ok "$rows CSV rows on the host after $((SECONDS - since)) s: $(find "$csv_dir" -name '*.csv' -printf '%f ' | head -c 200)"
  owners=$(stat -c '%u:%g' "$csv_dir" "$csv_dir"/*.csv | sort -u | tr '\n' ' ')
  if [ "$owners" = "10001:10001 " ]; then
    ok "the CSV files and their directory belong to the container user (10001:10001)"
  else
    bad "CSV ownership: $owners(want 10001:10001)"
  fi
}

check_not_root() {
  local uids
  uids=$(docker exec "$svc_name" sh -c 'grep "^Uid:" /proc/1/status; id -u' 2>&1 | tr -s '\t\n' '  ')
  if [ "$uids" = "Uid: 10001 10001 10001 10001 10001 " ]; then
    ok "the service runs as uid 10001 (not root), and docker exec … sh gives a shell"
  else
    bad "process ids in the container: $uids"
  fi
}

check_stop() {
  local begin end ms exit_code
  begin=$(date +%s%N)
  docker stop "$svc_name" >/dev/null 2>&1
  end=$(date +%s%N)
  ms=$(((end - begin) / 1000000))
  exit_code=$(docker inspect -f '{{.State.ExitCode}}' "$svc_name")
  if [ "$ms" -lt "$max_stop_ms" ] && [ "$exit_code" = 0 ]; then
    ok "docker stop took $ms ms (< $max_stop_ms) and the service exited 0"
  else
    bad "docker stop took $ms ms, exit code $exit_code (want < $max_stop_ms ms and 0)"
    docker logs --tail 10 "$svc_name" 2>&1 | sed 's/^/docker-test:   /'
  fi
}

# The README's `docker run … --user "$(id -u):$(id -g)"` typed as root, with a data directory and a
# 0600 config both root's: the service runs as uid 10001 all the same, reads the config, writes its
# CSV files as 10001, and the config stays as it was.
check_root_user_line() {
  local data="$work/rootdata" uids mode
  mkdir -p "$data"
  write_configs "$data"
  chmod 0600 "$data/config.yml"
  chown 0:0 "$data" "$data/config.yml"
  if ! docker run -d --name "$root_name" --network "container:$sim_name" -v "$data:/data" \
    --user "$(id -u):$(id -g)" --health-interval 2s --health-timeout 5s --health-retries 3 \
    "$image" >/dev/null 2>"$work/root.err"; then
    bad "could not start the service with --user $(id -u):$(id -g): $(head -3 "$work/root.err")"
    return 1
  fi
  uids=$(docker exec "$root_name" grep "^Uid:" /proc/1/status 2>&1 | tr -s '\t\n' '  ')
  if [ "$uids" = "Uid: 10001 10001 10001 10001 " ]; then
    ok "started with --user $(id -u):$(id -g) (root), the service runs as uid 10001"
  else
    bad "started with --user $(id -u):$(id -g), process 1 has $uids"
  fi
  wait_healthy "$root_name" "the service started as root"
  # CSV rows at all mean the config was read: without it the service calls the real exchanges,
  # which a container without a network cannot reach.
  if wait_for_csv "$data/cryptointellect/csv" "$root_name"; then
    mode=$(stat -c '%u:%g %a' "$data/config.yml")
    if [ "$mode" = "0:0 600" ]; then ok "its root-only config was read, and left as it was (0:0, 0600)"; else
      bad "the root-only config is now $mode (want 0:0 600)"
    fi
  fi
  docker stop "$root_name" >/dev/null 2>&1
}

# cryptointellect.sh against the real engine and image: a bad config stops it before anything is
# created; a good one (root's, mode 0600) creates the container once; the ci_* functions drive it;
# other settings recreate it without leaving its /data volume behind; an image it cannot pull is
# built from the checkout with the build arguments given. Its config points every API at a closed
# loopback port, so even on an engine with a network it reaches nothing.
check_script() {
  local dir="$work/script" name rc id_first id_second facts volume
  if docker container inspect cryptointellect_container >/dev/null 2>&1; then
    say "note: a cryptointellect_container exists already; cryptointellect.sh not tested against it"
    return 0
  fi
  script_container=1
  mkdir -p "$dir"
  {
    printf 'bucketing_interval: 1m\nexchanges: [Binance]\nn_coins_to_poll: 1\nlist_coins_to_poll: []\n'
    printf 'api_base_urls:\n'
    for name in binance kraken kucoin poloniex coingecko; do
      printf '  %s: http://127.0.0.1:9/%s\n' "$name" "$name"
    done
  } >"$dir/config.yml"
  printf 'bucketing_interval: 30s\n' >"$dir/bad.yml"
  chmod 0600 "$dir/config.yml"
  chmod 0644 "$dir/bad.yml"

  (cd "$dir" && bash "$repo/cryptointellect.sh" -c bad.yml --image "$image" --no-pull) >"$work/script-bad.log" 2>&1
  rc=$?
  if [ "$rc" = 1 ] && ! docker container inspect cryptointellect_container >/dev/null 2>&1 && [ ! -e "$dir/cryptointellect" ]; then
    ok "cryptointellect.sh: an invalid config returns 1 before anything is created"
  else
    bad "cryptointellect.sh with an invalid config: exit $rc; $(tail -3 "$work/script-bad.log")"
  fi

  for _ in 1 2; do
    (cd "$dir" && bash "$repo/cryptointellect.sh" -c config.yml --image "$image" --no-pull --dir data \
      --port 127.0.0.1:0) >>"$work/script.log" 2>&1 || {
      bad "cryptointellect.sh -c config.yml failed: $(tail -3 "$work/script.log")"
      return 1
    }
    id_second=$(docker inspect -f '{{.Id}}' cryptointellect_container 2>/dev/null)
    id_first=${id_first:-$id_second}
  done
  facts=$(docker inspect -f '{{.State.Status}} restart={{.HostConfig.RestartPolicy.Name}}{{range .Mounts}} {{.Source}}:{{.Destination}}{{end}}' cryptointellect_container)
  case "$facts" in
    "running restart=unless-stopped"*"$dir/data:/data/cryptointellect"*)
      if [ "$id_first" = "$id_second" ] && [ -n "$id_first" ] && [ -d "$dir/data/csv" ]; then
        ok "cryptointellect.sh: creates cryptointellect_container once and reuses it ($facts)"
      else
        bad "cryptointellect.sh: a second run made a new container or no data/csv ($id_first vs $id_second)"
      fi
      ;;
    *) bad "cryptointellect.sh: container: $facts" ;;
  esac
  local printed
  printed=$(docker exec cryptointellect_container cryptointellect config -c /data/config.yml 2>&1)
  if grep -q '127.0.0.1:9/binance' <<<"$printed" &&
    [ "$(stat -c '%a' "$dir/config.yml")" = 600 ]; then
    ok "cryptointellect.sh: uid 10001 reads root's 0600 config (through a private copy); the file stays 0600"
  else
    bad "cryptointellect.sh: the container cannot read the 0600 config: $(tail -3 "$work/script.log" | tr '\n' ' ')"
  fi

  facts=$(bash -c "source '$repo/cryptointellect.sh' -a >/dev/null && ci_status && ci_attach id -u && ci_stop >/dev/null &&
    docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' cryptointellect_container" 2>&1 | tr '\n' ' ')
  case "$facts" in
    "running ("*") 10001 exited 0 " | "running ("*") $(id -u) exited 0 ")
      ok "cryptointellect.sh: ci_status, ci_attach and ci_stop drive the container ($facts)" ;;
    *) bad "cryptointellect.sh functions: $facts" ;;
  esac

  # New settings: the container is made again with them, and the old one's /data volume goes too.
  volume=$(docker inspect -f '{{range .Mounts}}{{if eq .Destination "/data"}}{{.Name}}{{end}}{{end}}' cryptointellect_container)
  (cd "$dir" && bash "$repo/cryptointellect.sh" -c config.yml --image "$image" --no-pull --dir data \
    --port 127.0.0.1:0 -e CRYPTOINTELLECT_CHECK=1 --add-host sim.test:127.0.0.9) >"$work/script-recreate.log" 2>&1
  rc=$?
  id_second=$(docker inspect -f '{{.Id}}' cryptointellect_container 2>/dev/null)
  facts=$(docker inspect -f '{{.State.Status}} {{range .Config.Env}}{{.}} {{end}}{{.HostConfig.ExtraHosts}}' cryptointellect_container 2>&1)
  case "$rc $facts" in
    "0 running "*CRYPTOINTELLECT_CHECK=1*"[sim.test:127.0.0.9]")
      if [ "$id_second" != "$id_first" ] && grep -q 'recreating it' "$work/script-recreate.log" &&
        [ -n "$volume" ] && ! docker volume inspect "$volume" >/dev/null 2>&1; then
        ok "cryptointellect.sh: new settings (-e, --add-host) recreate the container; its /data volume is removed"
      else
        bad "cryptointellect.sh: recreate: id $id_first -> $id_second, volume ${volume:-none} $(docker volume inspect -f '{{.Name}} still there' "$volume" 2>&1)"
      fi
      ;;
    *) bad "cryptointellect.sh with new settings: exit $rc; $facts; $(tail -3 "$work/script-recreate.log" | tr '\n' ' ')" ;;
  esac

  # An image it cannot pull and does not have: built from the checkout, saying so, with --build-arg
  # passed through (the same arguments as build_image, so the build comes from the cache).
  docker rmi "$fallback_image" >/dev/null 2>&1
  (cd "$dir" && bash "$repo/cryptointellect.sh" -c config.yml --image "$fallback_image" --dir data \
    --port 127.0.0.1:0 -e CRYPTOINTELLECT_CHECK=1 --add-host sim.test:127.0.0.9 \
    --build-arg "BUILD_IMAGE=$base" --build-arg "RUNTIME_IMAGE=scratch" \
    --build-arg "CRYPTOINTELLECT_COMMIT=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    ${DOCKER_TEST_CMD:+--build-arg "TEST_CMD=$DOCKER_TEST_CMD"}) >"$work/script-build.log" 2>&1
  rc=$?
  facts=$(docker inspect -f '{{.State.Status}} {{.Config.Image}}' cryptointellect_container 2>&1)
  if [ "$rc" = 0 ] && [ "$facts" = "running $fallback_image" ] &&
    grep -q "cannot pull $fallback_image.*building $fallback_image from the checkout" "$work/script-build.log"; then
    ok "cryptointellect.sh: an image it cannot pull is built from the checkout (--build-arg passed) and run"
  else
    bad "cryptointellect.sh fallback build: exit $rc; $facts; $(grep -v '^ ---> \|^Step \|^Removing' "$work/script-build.log" | tail -4 | tr '\n' ' ')"
  fi
}

main() {
  work=$(mktemp -d /tmp/cryptointellect-docker-test.XXXXXX)
  chmod 0755 "$work"
  say "testing the image built from $repo (scratch in $work)"
  start_engine
  engine_up=1
  build_image
  check_image

  mkdir -p "$work/data"
  write_configs "$work/data"
  chown 10001:10001 "$work/data"
  check_config_validation

  docker rm -f "$svc_name" "$sim_name" >/dev/null 2>&1
  # As the README's demo: the simulator's container, and the service's joining its network.
  if ! docker run -d --name "$sim_name" --network none --health-interval 2s --health-timeout 5s \
    --health-retries 3 "$image" simulate >/dev/null 2>"$work/sim.err"; then
    abort "could not start the simulator: $(head -3 "$work/sim.err")"
  fi
  # Before the service shares its network, so that nothing else answers on 127.0.0.1:8080 there.
  check_simulator
  if ! docker run -d --name "$svc_name" --network "container:$sim_name" -v "$work/data:/data" \
    --health-interval 2s --health-timeout 5s --health-retries 3 \
    "$image" >/dev/null 2>"$work/svc.err"; then
    abort "could not start the service: $(head -3 "$work/svc.err")"
  fi
  wait_healthy "$svc_name" "the service"
  wait_for_csv "$work/data/cryptointellect/csv"
  check_not_root
  check_stop
  check_root_user_line
  check_script
  finish
}

main "$@"

#!/usr/bin/env bash
# Starts a throwaway PostgreSQL for the SQL sink tests and prints the line to use it:
#
#   eval "$(bash .ci/start-postgres.sh)"   # sets TAPEHOUSE_TEST_PG_URL
#
# Installs Debian's `postgresql` package when no server binaries are found, creates a cluster
# (trust auth, superuser `postgres`) in a temporary folder, and serves it on 127.0.0.1 only.
# Running it again reuses the running cluster. Everything but the export line goes to stderr.
#
#   TAPEHOUSE_TEST_PG_PORT  first port to try (default 55432; the next free one is used)
#   TAPEHOUSE_TEST_PG_DIR   cluster folder (default ${TMPDIR:-/tmp}/tapehouse-pg-<port>)
#   bash .ci/start-postgres.sh stop   stops a cluster this script started
set -euo pipefail

log() { echo "start-postgres: $*" >&2; }

find_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -n "$dir" && -x "$dir/initdb" ]]; then
    echo "$dir"
  elif command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
  fi
}

BINDIR=$(find_bindir)
if [[ -z "$BINDIR" ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    log "PostgreSQL is not installed and this is not root: run 'apt-get install -y postgresql' first"
    exit 1
  fi
  log "installing PostgreSQL from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y --no-install-recommends postgresql >&2
  BINDIR=$(find_bindir)
  [[ -n "$BINDIR" ]] || { log "postgresql installed but initdb was not found"; exit 1; }
fi

# Run server commands as `postgres` when root (the server refuses to run as root).
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}
if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi

first_port=${TAPEHOUSE_TEST_PG_PORT:-55432}
tmp=${TMPDIR:-/tmp}

cluster_dir() { echo "${TAPEHOUSE_TEST_PG_DIR:-$tmp/tapehouse-pg-$1}"; }
is_ours_running() { # port: our cluster for that port is up and answering
  local dir
  dir=$(cluster_dir "$1")
  [[ -f "$dir/postmaster.pid" ]] && as_owner "$BINDIR/pg_ctl" -D "$dir" status >/dev/null 2>&1 &&
    "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$1"
}
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if [[ "${1:-}" == "stop" ]]; then
  dir=$(cluster_dir "$first_port")
  as_owner "$BINDIR/pg_ctl" -D "$dir" -m fast stop >&2 || true
  exit 0
fi

port=""
for candidate in $(seq "$first_port" $((first_port + 20))); do
  if is_ours_running "$candidate"; then
    log "reusing the cluster already running on 127.0.0.1:$candidate"
    echo "export TAPEHOUSE_TEST_PG_URL=postgres://postgres@127.0.0.1:$candidate/postgres"
    exit 0
  fi
  if ! port_in_use "$candidate"; then
    port=$candidate
    break
  fi
done
[[ -n "$port" ]] || { log "no free port in $first_port..$((first_port + 20))"; exit 1; }

dir=$(cluster_dir "$port")
if [[ ! -f "$dir/PG_VERSION" ]]; then
  log "creating a cluster in $dir"
  rm -rf "$dir"
  mkdir -p "$dir"
  chmod 700 "$dir"
  [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$dir"
  as_owner "$BINDIR/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --no-locale >&2
fi
rm -f "$dir/postmaster.pid" # left by a cluster that did not stop cleanly (it is not running: checked above)

log "starting PostgreSQL ($BINDIR) on 127.0.0.1:$port"
as_owner "$BINDIR/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir" start >&2 || {
  log "the server did not start; its log:"
  tail -n 30 "$dir/server.log" >&2 || true
  exit 1
}

for _ in $(seq 1 60); do
  if "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$port"; then
    echo "export TAPEHOUSE_TEST_PG_URL=postgres://postgres@127.0.0.1:$port/postgres"
    exit 0
  fi
  sleep 0.5
done
log "PostgreSQL on 127.0.0.1:$port did not become ready in 30 s; its log:"
tail -n 30 "$dir/server.log" >&2 || true
exit 1

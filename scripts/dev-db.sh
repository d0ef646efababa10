#!/usr/bin/env bash
# Finds a PostgreSQL for `make run` or `make test` and prints its URL on
# stdout; says on stderr which one it used.
#
#   scripts/dev-db.sh run    DATABASE_URL, else a local cluster, else docker compose
#   scripts/dev-db.sh test   TEST_DATABASE_URL, else a local cluster, else nothing
#                            (the tests then try testcontainers-go, and fail
#                            saying what to install when that fails too)
#   scripts/dev-db.sh stop   stops the local cluster and the compose db
#
# The local cluster is a throwaway one started from the machine's PostgreSQL
# binaries (initdb, pg_ctl): data under .data/pg, its own port (54329).
set -euo pipefail

purpose=${1:?usage: dev-db.sh run|test|stop}
root=$(cd "$(dirname "$0")/.." && pwd)
data="$root/.data/pg"
port=${LOCAL_PG_PORT:-54329}
say() { echo "dev-db: $*" >&2; }

find_bin() {
  command -v "$1" 2>/dev/null && return 0
  ls -d /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -n 1
}
initdb=$(find_bin initdb || true)
pg_ctl=$(find_bin pg_ctl || true)

# initdb and postgres refuse to run as root: run them as the postgres user.
as_pg=()
if [ "$(id -u)" = 0 ]; then
  as_pg=(runuser -u postgres --)
fi

local_cluster() {
  local db=$1
  mkdir -p "$data"
  if [ "$(id -u)" = 0 ]; then chown postgres "$root/.data" "$data"; fi
  chmod 700 "$data"
  if [ ! -s "$data/PG_VERSION" ]; then
    "${as_pg[@]}" "$initdb" -D "$data" -U postgres -A trust --no-sync >/dev/null
  fi
  if ! "${as_pg[@]}" "$pg_ctl" -D "$data" status >/dev/null 2>&1; then
    "${as_pg[@]}" "$pg_ctl" -D "$data" -l "$data/server.log" -w \
      -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  fi
  if [ "$db" != postgres ]; then
    local out
    if ! out=$("${as_pg[@]}" "$(find_bin createdb)" -h 127.0.0.1 -p "$port" -U postgres "$db" 2>&1) &&
      [[ $out != *"already exists"* ]]; then
      say "could not create database $db: $out"
      exit 1
    fi
  fi
  say "using the local PostgreSQL cluster in .data/pg on port $port (stop it with: make db-down)"
  echo "postgres://postgres@127.0.0.1:$port/$db?sslmode=disable"
}

case "$purpose" in
run)
  if [ -n "${DATABASE_URL:-}" ]; then
    say "using DATABASE_URL"
    echo "$DATABASE_URL"
  elif [ -n "$initdb" ] && [ -n "$pg_ctl" ]; then
    local_cluster vpcep
  elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    (cd "$root" && docker compose up -d --wait db >&2)
    say "using the db service of docker-compose.yml on port 5433"
    echo "postgres://postgres:postgres@127.0.0.1:5433/vpcep?sslmode=disable"
  else
    say "no PostgreSQL found: set DATABASE_URL, install the PostgreSQL server (Debian: apt-get install postgresql), or start Docker"
    exit 1
  fi
  ;;
test)
  if [ -n "${TEST_DATABASE_URL:-}" ]; then
    say "using TEST_DATABASE_URL"
    echo "$TEST_DATABASE_URL"
  elif [ -n "$initdb" ] && [ -n "$pg_ctl" ]; then
    local_cluster postgres
  else
    say "no TEST_DATABASE_URL and no PostgreSQL binaries: the tests will try testcontainers-go (Docker)"
    echo ""
  fi
  ;;
stop)
  if [ -n "$pg_ctl" ] && [ -s "$data/PG_VERSION" ]; then
    "${as_pg[@]}" "$pg_ctl" -D "$data" -m fast stop >/dev/null 2>&1 || true
    say "stopped the local cluster"
  fi
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    (cd "$root" && docker compose down >&2) || true
  fi
  ;;
*)
  echo "usage: dev-db.sh run|test|stop" >&2
  exit 2
  ;;
esac

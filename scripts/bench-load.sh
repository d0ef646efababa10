#!/usr/bin/env bash
# Page views a second under load, as in issue 11: the simulator with 10,000
# endpoints and the console as separate processes on loopback, a fresh
# database with 1,000,000 audit rows, a signed-in viewer; cmd/loadgen warms
# each page for a second, loads it with 16 connections through wrk (Debian's,
# installed here when missing: a Go client would take the CPU the console
# needs on two cores), then requests it one at a time, and prints the table
# with each page's ratio to /healthz (the floor of the HTTP stack).
# Also: start to ready on a database that already holds the inventory (the
# median of BENCH_RESTARTS restarts, on a recent inventory and on an hour-old
# one whose refresh runs at once), and the console's peak RSS (VmHWM) through
# a 10,000-endpoint refresh with the in-memory inventory loaded, and the run;
# then the CSV export of the whole log from outside, and, the console
# stopped, the policy update overhead (BenchmarkApplyOverhead).
#
# The audit rows are made with one INSERT ... SELECT generate_series: their
# hashes are not a valid chain, so `web audit verify` is not run on this
# database (it would rightly fail). They only give the pages their size.
#
# Needs TEST_DATABASE_URL (a server; a throwaway database is made on it),
# curl and psql. Every request goes to 127.0.0.1; the run takes about
# 2 minutes (BENCH_SECONDS per page loaded, BENCH_SECONDS_ONE one at a time).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
server=${TEST_DATABASE_URL:?set TEST_DATABASE_URL (make bench-load does)}
endpoints=${BENCH_ENDPOINTS:-10000}
audit_rows=${BENCH_AUDIT_ROWS:-1000000}
seconds=${BENCH_SECONDS:-4}
seconds_one=${BENCH_SECONDS_ONE:-2}
conns=${BENCH_CONNS:-16}
restarts=${BENCH_RESTARTS:-5}
sim_port=${BENCH_SIM_PORT:-19091}
web_port=${BENCH_WEB_PORT:-18081}

work=$(mktemp -d)
db="vpcep_load_$$"
cleanup() {
  kill "${web_pid:-}" "${sim_pid:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  psql -q "$server" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

if ! command -v wrk >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
(cd "$root" && CGO_ENABLED=0 go build -o "$work/" ./cmd/web ./cmd/vpcep-sim ./cmd/loadgen)
psql -q "$server" -c "CREATE DATABASE $db" >/dev/null
db_url=$(echo "$server" | sed -E "s#^([a-z]+://[^/?]*)(/[^?]*)?#\1/$db#")
base="http://127.0.0.1:$web_port"

"$work/vpcep-sim" --listen "127.0.0.1:$sim_port" --seed "$endpoints" >"$work/sim.out" 2>&1 &
sim_pid=$!
for _ in $(seq 1 100); do grep -q HUAWEICLOUD_SDK_SK "$work/sim.out" 2>/dev/null && break; sleep 0.1; done
set -a; . <(grep -E '^(VPCEP_ENDPOINT|VPCEP_PROJECT_ID|HUAWEICLOUD_SDK_AK|HUAWEICLOUD_SDK_SK)=' "$work/sim.out"); set +a

# start_web starts the console (web_pid) and sets ready_ms to how long it
# took to answer /readyz with 200.
start_web() {
  local start; start=$(date +%s%N)
  DATABASE_URL="$db_url" LOG_LEVEL=warn "$work/web" serve --listen "127.0.0.1:$web_port" >>"$work/web.log" 2>&1 &
  web_pid=$!
  for _ in $(seq 1 3000); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz")" = 200 ] && break
    sleep 0.01
  done
  ready_ms=$((($(date +%s%N) - start) / 1000000))
}
# refreshes counts the successful refreshes recorded.
refreshes() { psql -qtA "$db_url" -c "SELECT count(*) FROM inventory_refreshes WHERE succeeded"; }

start_web; ready_fresh=$ready_ms
load_start=$(date +%s)
psql -q "$db_url" >/dev/null <<SQL
INSERT INTO audit_entries (started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action,
  reason, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, response_status, duration_ms,
  final_hash)
SELECT now() - make_interval(secs => $audit_rows - g), 'user' || (g % 50), 'project', 'cn-north-4',
  'ep-' || lpad((g % $endpoints)::text, 8, '0'), 'com.myhuaweicloud.cn-north-4.obs', 'update',
  'bench row ' || g || ': ' || (ARRAY['rotate keys','payments bucket','tighten logs','open backups'])[1 + g % 4],
  '{"Version":"5.0","Statement":[]}', '{"Version":"5.0","Statement":[]}',
  repeat('0', 64), md5(g::text) || md5(g::text), CASE WHEN g % 10 = 0 THEN 'failed' ELSE 'succeeded' END,
  now() - make_interval(secs => $audit_rows - g), 200, 40, md5(g::text) || md5(g::text)
FROM generate_series(1, $audit_rows) g;
VACUUM ANALYZE audit_entries;
SQL
echo "loaded $audit_rows audit rows in $(($(date +%s) - load_start)) s" >&2

password="bench-password-$$-not-secret"
echo "$password" | DATABASE_URL="$db_url" "$work/web" user add bench --role viewer >/dev/null
token=$(DATABASE_URL="$db_url" "$work/web" token create bench --name load)

# median prints the median of its arguments.
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
# restart stops the console and starts it again (ready_ms).
restart() { kill "$web_pid"; wait "$web_pid" 2>/dev/null || true; start_web; }

# Restarts on the database that now holds the inventory: ready without
# waiting for the upstream. An hour-old inventory (the refresh history moved
# back) is refreshed at once, in the background; a recent one on schedule.
old=()
for i in $(seq 1 "$restarts"); do
  kill "$web_pid"; wait "$web_pid" 2>/dev/null || true
  psql -q "$db_url" -c "UPDATE inventory_refreshes SET started_at = started_at - interval '1 hour',
    finished_at = finished_at - interval '1 hour'" >/dev/null
  before=$(refreshes)
  start_web; old+=("$ready_ms")
  # On the last one, read the list at once: the in-memory inventory is
  # loaded while the refresh runs.
  [ "$i" = "$restarts" ] && curl -s -o /dev/null -H "Authorization: Bearer $token" "$base/api/v1/endpoints?limit=100"
  for _ in $(seq 1 600); do [ "$(refreshes)" -gt "$before" ] && break; sleep 0.1; done
done
hwm_refresh=$(awk '/VmHWM/ {print $2}' "/proc/$web_pid/status")
recent=()
for _ in $(seq 1 "$restarts"); do restart; recent+=("$ready_ms"); done

jar="$work/cookies"
csrf=$(curl -s -c "$jar" -b "$jar" "$base/login" | sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' | head -n 1)
curl -s -c "$jar" -b "$jar" -o /dev/null --data-urlencode "name=bench" --data-urlencode "password=$password" \
  --data-urlencode "_csrf=$csrf" "$base/login"
cookie=$(awk '$6 ~ /session/ {print $6 "=" $7}' "$jar" | head -n 1)
[ -n "$cookie" ] || { echo "bench-load: sign-in failed" >&2; exit 1; }

# user10's rows are every 50th, all failed (g % 10 = 0): a full page of matches.
pages=(/healthz /endpoints '/endpoints?q=payments&type=interface' '/endpoints?page=150' /audit
  '/audit?actor=user10&outcome=failed' '/api/v1/endpoints?limit=100')
# The audit search (q) is measured once the server answers it.
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$base/audit?q=payments")" = 200 ] && pages+=('/audit?q=payments')

echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); $endpoints endpoints, $audit_rows audit rows, $conns connections"
"$work/loadgen" -base "$base" -cookie "$cookie" -token "$token" -c "$conns" -d "${seconds}s" -d1 "${seconds_one}s" -wrk "$(command -v wrk)" "${pages[@]}"
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$web_pid/status")
rss=$(awk '/VmRSS/ {print $2}' "/proc/$web_pid/status")
printf '\nstart to ready, empty database (waits for the first refresh): %d ms\n' "$ready_fresh"
printf 'start to ready, recent inventory stored (median of %d):      %d ms (%s)\n' "$restarts" "$(median "${recent[@]}")" "${recent[*]}"
printf 'start to ready, hour-old inventory stored (median of %d):    %d ms (%s)\n' "$restarts" "$(median "${old[@]}")" "${old[*]}"
printf 'peak RSS through a restart and its %d-endpoint refresh, inventory in memory: %d MiB\n' "$endpoints" $((hwm_refresh / 1024))
printf 'peak RSS after the load: %d MiB (RSS now %d MiB)\n' $((hwm / 1024)) $((rss / 1024))

# The CSV export of the whole log, from outside: rows a second through
# /audit.csv (uncompressed, as a script would fetch it), and the console's
# RSS sampled while it streams (flat memory: no row is kept).
csv_start=$(date +%s%N)
curl -s -H "Cookie: $cookie" "$base/audit.csv" | wc -l >"$work/csv.lines" &
csv_pid=$!
csv_rss=0
while kill -0 "$csv_pid" 2>/dev/null; do
  r=$(awk '/VmRSS/ {print $2}' "/proc/$web_pid/status"); [ "$r" -gt "$csv_rss" ] && csv_rss=$r
  sleep 0.1
done
wait "$csv_pid"
csv_ms=$((($(date +%s%N) - csv_start) / 1000000))
csv_rows=$(($(cat "$work/csv.lines") - 1))
printf 'CSV export of %d entries: %d ms, %d rows/s; console RSS while it streamed: at most %d MiB (before: %d MiB)\n' \
  "$csv_rows" "$csv_ms" $((csv_rows * 1000 / (csv_ms > 0 ? csv_ms : 1))) $((csv_rss / 1024)) $((rss / 1024))

# The policy update overhead (the repo's benchmark, 400 changes, 3 runs),
# with the console and the simulator stopped so they take no CPU.
kill "$web_pid" "$sim_pid" 2>/dev/null || true
wait 2>/dev/null || true
echo
echo "policy update overhead (BenchmarkApplyOverhead, 400 changes a run):"
(cd "$root" && TEST_DATABASE_URL="$server" go test -run '^$' -bench ApplyOverhead -benchtime 400x -count 3 ./internal/change) |
  awk '/^BenchmarkApplyOverhead/ {printf "  %-9s p50 %s ms  p99 %s ms\n", substr($1, 24, index($1, "-") - 24), $5, $7}'

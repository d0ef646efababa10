#!/usr/bin/env bash
# Measures /endpoints against a 10,000-endpoint simulator, as separate
# processes on loopback: the first load after start, warm loads (median and
# p90 of sequential requests) and the console's memory (RSS and peak).
#
# Needs TEST_DATABASE_URL (a server; a throwaway database is made on it),
# curl and psql. Every request goes to 127.0.0.1 and the run is bounded.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
server=${TEST_DATABASE_URL:?set TEST_DATABASE_URL (make bench does)}
endpoints=${BENCH_ENDPOINTS:-10000}
requests=${BENCH_REQUESTS:-200}
sim_port=${BENCH_SIM_PORT:-19090}
web_port=${BENCH_WEB_PORT:-18080}

work=$(mktemp -d)
db="vpcep_bench_$$"
cleanup() {
  kill "${web_pid:-}" "${sim_pid:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  psql -q "$server" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$root" && CGO_ENABLED=0 go build -o "$work/" ./cmd/web ./cmd/vpcep-sim)
psql -q "$server" -c "CREATE DATABASE $db" >/dev/null
# The same server, the throwaway database: swap the URL's path.
db_url=$(echo "$server" | sed -E "s#^([a-z]+://[^/?]*)(/[^?]*)?#\1/$db#")

"$work/vpcep-sim" --listen "127.0.0.1:$sim_port" --seed "$endpoints" >"$work/sim.out" 2>&1 &
sim_pid=$!
for _ in $(seq 1 100); do grep -q HUAWEICLOUD_SDK_SK "$work/sim.out" 2>/dev/null && break; sleep 0.1; done
set -a; . <(grep -E '^(VPCEP_ENDPOINT|VPCEP_PROJECT_ID|HUAWEICLOUD_SDK_AK|HUAWEICLOUD_SDK_SK)=' "$work/sim.out"); set +a

DATABASE_URL="$db_url" LOG_LEVEL=warn "$work/web" serve --listen "127.0.0.1:$web_port" >"$work/web.log" 2>&1 &
web_pid=$!
base="http://127.0.0.1:$web_port"
start=$(date +%s%N)
for _ in $(seq 1 600); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz")" = 200 ] && break
  sleep 0.1
done
ready=$(date +%s%N)

# Sign in as a viewer, as a person would: the CSRF cookie and field, then the session cookie.
password="bench-password-$$-not-secret"
echo "$password" | DATABASE_URL="$db_url" "$work/web" user add bench --role viewer >/dev/null
jar="$work/cookies"
csrf=$(curl -s -c "$jar" -b "$jar" "$base/login" | sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' | head -n 1)
curl -s -c "$jar" -b "$jar" -o /dev/null --data-urlencode "name=bench" --data-urlencode "password=$password" \
  --data-urlencode "_csrf=$csrf" "$base/login"

first=$(curl -s -b "$jar" -o "$work/first.html" -w '%{time_total}' "$base/endpoints")
grep -q 'data-testid="endpoint-row"' "$work/first.html" || { echo "bench: /endpoints did not list endpoints (not signed in?)" >&2; exit 1; }
: >"$work/times"
for _ in $(seq 1 "$requests"); do
  curl -s -b "$jar" -o /dev/null -w '%{time_total}\n' "$base/endpoints" >>"$work/times"
done
: >"$work/search"
for _ in $(seq 1 "$requests"); do
  curl -s -b "$jar" -o /dev/null -w '%{time_total}\n' "$base/endpoints?q=obs&type=gateway&page=3" >>"$work/search"
done
rss=$(awk '/VmRSS/ {print $2}' "/proc/$web_pid/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$web_pid/status")

stat() { sort -n "$1" | awk -v q="$2" '{a[NR]=$1} END {i=int(NR*q); if (i<1) i=1; printf "%.1f", a[i]*1000}'; }
printf 'endpoints:                      %d\n' "$endpoints"
printf 'start to ready (first refresh): %d ms\n' $(((ready - start) / 1000000))
printf 'first /endpoints:               %s ms\n' "$(awk -v t="$first" 'BEGIN {printf "%.1f", t * 1000}')"
printf 'warm /endpoints:                median %s ms, p90 %s ms (%d sequential requests)\n' "$(stat "$work/times" 0.5)" "$(stat "$work/times" 0.9)" "$requests"
printf 'warm filtered search, page 3:   median %s ms, p90 %s ms\n' "$(stat "$work/search" 0.5)" "$(stat "$work/search" 0.9)"
printf 'console memory:                 RSS %d MiB, peak %d MiB\n' $((rss / 1024)) $((hwm / 1024))

#!/usr/bin/env bash
# Smoke test of the compiled single binary (dist/netspeed): it must run its
# Worker modules and embedded assets without the source tree beside it.
# Usage: scripts/smoke_binary.sh dist/netspeed
set -euo pipefail
bin=$(realpath "${1:-dist/netspeed}")
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work" # away from the repository: nothing may be read from it

"$bin" --version
"$bin" serve --port 0 --discard-port 0 --chargen-port 0 --udp >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 50); do grep -q "listening" "$work/serve.log" && break; sleep 0.1; done
port=$(sed -nE 's/^echo listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$work/serve.log")
[ -n "$port" ] || { echo "serve did not start"; cat "$work/serve.log"; exit 1; }

"$bin" latency "127.0.0.1:$port" -w 2 -c 2 -n 200 --csv "$work/lat.csv" --json "$work/lat.json"
rows=$(($(wc -l <"$work/lat.csv") - 1))
[ "$rows" -eq 800 ] || { echo "expected 800 CSV rows, got $rows"; exit 1; }

# Every Worker module must be embedded: open loop, UDP, throughput, connect.
discard=$(sed -nE 's/^discard listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$work/serve.log")
chargen=$(sed -nE 's/^chargen listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$work/serve.log")
"$bin" latency "127.0.0.1:$port" --rate 1000/s -n 500
"$bin" latency --udp "127.0.0.1:$port" --rate 500/s -n 200
"$bin" throughput 127.0.0.1 --discard-port "$discard" --chargen-port "$chargen" \
  --direction up -d 1s -i 500ms
"$bin" throughput 127.0.0.1 --discard-port "$discard" --chargen-port "$chargen" \
  --direction down -d 1s -i 500ms
"$bin" connect "127.0.0.1:$port" -n 200

set +e
"$bin" latency "127.0.0.1:$port" --size 0 2>"$work/err.txt"
code=$?
set -e
[ "$code" -eq 2 ] || { echo "bad input gave exit $code, not 2"; exit 1; }

"$bin" bench --out "$work/results" --duration 2s >"$work/bench.log" 2>&1 || { cat "$work/bench.log"; exit 1; }
ls "$work"/results/*/
# The report inlines Vega from the npm packages embedded in the binary.
"$bin" report "$work/lat.csv" -o "$work/lat.html"
for report in "$work/lat.html" "$work"/results/*/report.html; do
  grep -q 'data-library="vega-embed@' "$report" || { echo "$report lacks the inlined vega-embed"; exit 1; }
done
echo "binary smoke test passed"

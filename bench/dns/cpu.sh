#!/bin/sh
# CPU cost per query, less sensitive than saturation throughput to other load
# on a shared machine: dnsperf sends a fixed rate to maillon, then to Knot
# (same zones), after a warm-up, and the server's CPU time (utime+stime from
# /proc) is read around the measured run.
# Usage: bench/dns/cpu.sh [qps=30000] [seconds=10] [rounds=2]
set -eu
rate=${1:-30000}
secs=${2:-10}
rounds=${3:-2}
cd "$(dirname "$0")/../.."
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
go build -o "$dir/dnsbench" ./bench/dns
"$dir/dnsbench" -dir "$dir" -knot 127.0.0.1@53530 2>/dev/null
ticks() { awk '{print $14+$15}' /proc/"$1"/stat; }
measure() { # name port
	dnsperf -s 127.0.0.1 -p "$2" -d "$dir/queries.txt" -l 5 -Q "$rate" -c 4 >/dev/null 2>&1 # warm-up
	t0=$(ticks $pid)
	dnsperf -s 127.0.0.1 -p "$2" -d "$dir/queries.txt" -l "$secs" -Q "$rate" -c 4 >"$dir/out" 2>&1
	t1=$(ticks $pid)
	done=$(awk '/Queries completed/ {print $3}' "$dir/out")
	lost=$(awk '/Queries lost/ {print $3}' "$dir/out")
	echo "$1: $done answered, $lost lost, $((t1 - t0)) CPU ticks (1/100 s): $(awk -v t=$((t1 - t0)) -v q="$done" 'BEGIN {printf "%.1f", t*10000/q}') µs per query"
}
for r in $(seq "$rounds"); do
	"$dir/dnsbench" -addr 127.0.0.1:53531 2>"$dir/m.log" &
	pid=$!
	until grep -q "DNS on" "$dir/m.log"; do sleep 0.2; done
	measure maillon 53531
	kill $pid; wait $pid 2>/dev/null || true
	knotd -c "$dir/knot.conf" 2>/dev/null &
	pid=$!
	until kdig @127.0.0.1 -p 53530 +short sub00001.dsl.example.org A 2>/dev/null | grep -q 100.64; do sleep 0.2; done
	measure knot 53530
	kill $pid; wait $pid 2>/dev/null || true
	pid=
done

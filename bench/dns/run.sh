#!/bin/sh
# DNS benchmark: dnsperf against maillon, then against Knot DNS serving the
# same zones (N subscribers: forward A/AAAA, reverse PTR for IPv4 and IPv6),
# ROUNDS times in alternation, on this machine; then AXFR of the 40,000-record
# forward zone from each.
# Usage: bench/dns/run.sh [seconds=20] [subscribers=20000] [rounds=1]
set -eu
secs=${1:-20}
n=${2:-20000}
rounds=${3:-1}
cd "$(dirname "$0")/../.."
dir=$(mktemp -d)
mpid= kpid=
cleanup() {
	for p in $mpid $kpid; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup EXIT
mport=53531 kport=53530
tsig="hmac-sha256:bench.example.org:YmVuY2gtc2VjcmV0LWZvci1tYWlsbG9uLWFuZC1rbm90"
go build -o "$dir/dnsbench" ./bench/dns
"$dir/dnsbench" -n "$n" -dir "$dir" -knot "127.0.0.1@$kport" 2>/dev/null

start_maillon() {
	"$dir/dnsbench" -n "$n" -addr "127.0.0.1:$mport" 2>"$dir/maillon.log" &
	mpid=$!
	until grep -q "maillon DNS on" "$dir/maillon.log"; do sleep 0.2; done
}
start_knot() {
	knotd -c "$dir/knot.conf" 2>"$dir/knot.log" &
	kpid=$!
	until kdig @127.0.0.1 -p $kport +short sub00001.dsl.example.org A 2>/dev/null | grep -q 100.64; do sleep 0.2; done
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }
perf() { # name port
	q=$(dnsperf -s 127.0.0.1 -p "$2" -d "$dir/queries.txt" -l "$secs" -c 4 -q 200 2>&1 |
		tee "$dir/$1.out" | awk '/Queries per second/ {print $4}')
	grep -E "Queries (completed|lost)|Average Latency" "$dir/$1.out" | sed "s/^/  $1 /"
	echo "$1 qps $q"
	echo "$q" >>"$dir/$1.qps"
}
axfr() { # name port
	/usr/bin/time -f "$1 AXFR example.org: %e s" kdig @127.0.0.1 -p "$2" -y "$tsig" example.org AXFR 2>&1 >"$dir/$1.axfr" | tail -1
	echo "  $(grep -c "IN" "$dir/$1.axfr") records"
}
for r in $(seq "$rounds"); do
	echo "== round $r"
	start_maillon
	perf maillon $mport
	[ "$r" = 1 ] && axfr maillon $mport
	stop $mpid
	mpid=
	start_knot
	perf knot $kport
	[ "$r" = 1 ] && axfr knot $kport
	stop $kpid
	kpid=
done
m=$(awk '{s+=$1} END {print s/NR}' "$dir/maillon.qps")
k=$(awk '{s+=$1} END {print s/NR}' "$dir/knot.qps")
echo "mean qps: maillon $m, knot $k, ratio maillon/knot $(awk -v m="$m" -v k="$k" 'BEGIN {printf "%.2f", m/k}')"

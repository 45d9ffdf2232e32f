#!/bin/sh
# DNS benchmark: dnsperf against maillon, then against Knot DNS serving the
# same zones (20,000 subscribers), one run each, on this machine.
# Usage: bench/dns/run.sh [seconds] [subscribers]
set -eu
secs=${1:-20}
n=${2:-20000}
cd "$(dirname "$0")/../.."
dir=$(mktemp -d)
trap 'kill $mpid $kpid 2>/dev/null || true; rm -rf "$dir"' EXIT
mpid= kpid=
mport=53531 kport=53530
go build -o "$dir/dnsbench" ./bench/dns
"$dir/dnsbench" -n "$n" -dir "$dir" -knot "127.0.0.1@$kport" -addr "127.0.0.1:$mport" 2>"$dir/maillon.log" &
mpid=$!
until kdig @127.0.0.1 -p $mport +short sub00001.dsl.example.org A >/dev/null 2>&1 && grep -q "maillon DNS on" "$dir/maillon.log"; do sleep 0.2; done
run() { # name port
	echo "== $1"
	dnsperf -s 127.0.0.1 -p "$2" -d "$dir/queries.txt" -l "$secs" -c 4 -q 200 2>&1 | grep -E "Queries (sent|completed|lost)|Queries per second|Average Latency"
}
run maillon $mport
echo "AXFR example.org (40,000 records) from maillon:"
/usr/bin/time -f "%e s" kdig @127.0.0.1 -p $mport -y "hmac-sha256:bench.example.org:YmVuY2gtc2VjcmV0LWZvci1tYWlsbG9uLWFuZC1rbm90" example.org AXFR 2>&1 >/dev/null | tail -1
kill $mpid; wait $mpid 2>/dev/null || true; mpid=
knotd -c "$dir/knot.conf" 2>"$dir/knot.log" &
kpid=$!
until kdig @127.0.0.1 -p $kport +short sub00001.dsl.example.org A 2>/dev/null | grep -q 100.64; do sleep 0.2; done
run knot $kport
echo "AXFR example.org (40,000 records) from Knot:"
/usr/bin/time -f "%e s" kdig @127.0.0.1 -p $kport -y "hmac-sha256:bench.example.org:YmVuY2gtc2VjcmV0LWZvci1tYWlsbG9uLWFuZC1rbm90" example.org AXFR 2>&1 >/dev/null | tail -1
